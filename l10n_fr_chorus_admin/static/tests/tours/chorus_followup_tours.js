import {registry} from "@web/core/registry";

registry.category("web_tour.tours").add("chorus_portal_invoices", {
    url: "/my/invoices",
    steps: () => [
        {
            content: "The invoice list shows the Chorus Pro status",
            trigger: "td.o_chorus_portal_status:contains('Made available')",
        },
        {
            content: "and the legal due date",
            trigger: "td.o_chorus_portal_status:contains('04/01/2026')",
        },
        {
            content: "Open the invoice",
            trigger: "a[title='CHORUS/TOUR/0001']",
            run: "click",
        },
        {
            content: "The invoice page shows its Chorus Pro status and legal due date",
            trigger: ".o_chorus_portal_invoice:contains('Made available'):contains('04/01/2026')",
        },
    ],
});

registry.category("web_tour.tours").add("chorus_accounting_dashboard", {
    url: "/odoo/action-l10n_fr_chorus_admin.action_chorus_invoice_analysis",
    steps: () => [
        {
            content: "The dashboard opens on the graph of invoices per Chorus Pro status",
            trigger: ".o_graph_view .o_graph_renderer canvas",
        },
        {
            content: "Switch to the pivot",
            trigger: "button.o_switch_view.o_pivot",
            run: "click",
        },
        {
            content: "Amounts per public customer and Chorus Pro status",
            trigger: ".o_pivot th:contains('Mairie de Démoville')",
        },
        {
            content: "Filter the overdue invoices",
            trigger: ".o_searchview_dropdown_toggler",
            run: "click",
        },
        {
            trigger: ".o_filter_menu .o_menu_item:contains('Chorus Pro: overdue')",
            run: "click",
        },
        {
            content: "Only the overdue invoice is left",
            trigger: ".o_pivot th:contains('Mairie de Démoville')",
        },
        {
            content: "List the invoices",
            trigger: "button.o_switch_view.o_list",
            run: "click",
        },
        {
            content: "Open the overdue invoice",
            trigger: ".o_data_row:first .o_data_cell:contains('CHORUS/TOUR/0001')",
            run: "click",
        },
        {
            content: "Open its Chorus Pro page",
            trigger: ".o_notebook a.nav-link:contains('Chorus Pro')",
            run: "click",
        },
        {
            content: "The page shows the status, the legal due date and the lateness",
            trigger: ".o_field_widget[name='chorus_legal_due_date']:contains('04/01/2026')",
        },
        {
            trigger: ".o_field_widget[name='chorus_status']:contains('MISE_A_DISPOSITION')",
        },
        {
            trigger: ".o_field_widget[name='chorus_late_interest']",
        },
        {
            content: "and the way to claim the interest",
            trigger: "button[name='action_chorus_create_claim']",
        },
    ],
});
