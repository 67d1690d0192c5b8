import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

// The README's "Usage by role" and demo walk, clicked as each demo user would,
// through the menus and buttons the README names (labels included). They rely
// on the demo data; tests/test_readme_walk.py runs them.

const tours = registry.category("web_tour.tours");

/**
 * Open an app, wait for its first screen (``ready``), then follow the README's
 * menu path inside it: section > item.
 */
function menu(app, ready, section, item) {
    return [
        stepUtils.showAppsMenuItem(),
        {
            content: `App ${app}`,
            trigger: `.o_app:contains('${app}')`,
            run: "click",
        },
        {
            content: `App ${app} loaded`,
            trigger: ready,
        },
        ...menuInApp(section, item),
    ];
}

function menuInApp(section, item) {
    return [
        {
            content: `Menu ${section}`,
            trigger: `.o_menu_sections button:contains('${section}')`,
            run: "click",
        },
        {
            content: `Menu ${section} > ${item}`,
            trigger: `.o-dropdown--menu .dropdown-item:contains(/^${item}$/)`,
            run: "click",
        },
    ];
}

function tab(label) {
    return {
        content: `Tab ${label}`,
        trigger: `.o_notebook a.nav-link:contains('${label}')`,
        run: "click",
    };
}

function search(text) {
    return [
        {
            content: `Search ${text}`,
            trigger: ".o_searchview_input",
            run: `edit ${text}`,
        },
        {
            trigger: ".o_searchview_input",
            run: "press Enter",
        },
    ];
}

function openFilters() {
    return {
        content: "Open the filters",
        trigger: ".o_searchview_dropdown_toggler",
        run: "click",
    };
}

tours.add("chorus_readme_administrator", {
    url: "/odoo",
    steps: () => [
        // Connecting to Chorus Pro, step 5.
        ...menu(
            "Invoicing",
            ".o_breadcrumb:contains('Invoices')",
            "Configuration",
            "Settings"
        ),
        {
            content: "The Chorus Pro block of the settings",
            trigger: "#chorus_pro_connection:contains('Chorus Pro connection')",
        },
        {
            content: "Environment, credentials of both environments, URL override",
            trigger: "#chorus_pro_connection .o_field_widget[name='chorus_environment']",
        },
        {
            trigger: "#chorus_pro_connection .o_field_widget[name='chorus_qualification_client_secret']",
        },
        {
            trigger: "#chorus_pro_connection .o_field_widget[name='chorus_production_login']",
        },
        {
            trigger: "#chorus_pro_connection .o_field_widget[name='chorus_base_url']",
        },
        {
            content: "Test connection",
            trigger: "#chorus_pro_connection button[name='action_chorus_test_connection']",
            run: "click",
        },
        {
            content: "Connected: the company's own structure is found by its SIRET",
            trigger: ".o_notification:contains('Connected to Chorus Pro'):contains('26000001')",
        },
        {
            content: "The own structure is an identifier, without thousands separators",
            trigger: "#chorus_pro_connection .o_field_widget[name='chorus_structure_id']:contains(/^26000001$/)",
        },
        {
            content: "The technical password's expiry date",
            trigger: "#chorus_pro_connection .o_field_widget[name='chorus_password_expiry_date']:not(:empty)",
        },
        {
            trigger: "#chorus_pro_connection .o_field_widget[name='chorus_expiry_reminder_user_ids']",
        },
        {
            content: "Document format and invoices per flow",
            trigger: "#chorus_pro_documents .o_field_widget[name='chorus_syntax']",
        },
        {
            trigger: "#chorus_pro_documents .o_field_widget[name='chorus_invoices_per_flow']",
        },
        // Public-administration customers.
        ...menuInApp("Customers", "Customers"),
        ...search("Mairie de Démoville"),
        {
            content: "Open the town hall",
            trigger: ".o_kanban_record:contains('Mairie de Démoville'):not(:contains('Acheteur'))",
            run: "click",
        },
        tab("Public administration"),
        {
            trigger: ".o_field_widget[name='chorus_is_public'] input:checked",
        },
        {
            trigger: ".o_field_widget[name='chorus_buyer_category']",
        },
        {
            content: "Its Chorus Pro structure id, as an identifier",
            trigger: ".o_field_widget[name='chorus_structure_id']:contains(/^25000201$/)",
        },
        {
            content: "Its services",
            trigger: ".o_field_widget[name='chorus_service_ids'] .o_data_row:contains('TECHNIQUE')",
        },
        {
            content: "Look up on Chorus Pro",
            trigger: "button[name='action_chorus_lookup']:contains('Look up on Chorus Pro')",
            run: "click",
        },
        {
            trigger: ".o_notification:contains('Mairie de Démoville: structure 25000201,'):contains('active services')",
        },
        {
            content: "Invoicing > Customers > Chorus Pro services",
            trigger: ".o_menu_sections button:contains('Customers')",
            run: "click",
        },
        {
            trigger: ".o-dropdown--menu .dropdown-item:contains(/^Chorus Pro services$/)",
            run: "click",
        },
        {
            trigger: ".o_list_view .o_group_header:contains('Mairie de Démoville')",
        },
        // Access: Settings > Users & Companies > Users.
        ...menu("Settings", ".o_setting_container", "Users & Companies", "Users"),
        {
            content: "Open the accountant",
            trigger: ".o_data_row:contains('Claire Comptable') .o_data_cell",
            run: "click",
        },
        tab("Access Rights"),
        {
            content: "The Chorus Pro groups, outside developer mode too",
            trigger: ".o_form_view .o_inner_group:contains('Accounting') label:contains('Chorus Pro')",
        },
        {
            trigger: ".o_form_view .o_inner_group:contains('Sales') label:contains('Administrative mandates')",
        },
        // Automation: Settings > Technical, in developer mode.
        {
            content: "General Settings",
            trigger: ".o_menu_sections .o_nav_entry:contains('General Settings')",
            run: "click",
        },
        {
            content: "Activate the developer mode",
            trigger: ".o_setting_container a:contains('Activate the developer mode')",
            run: "click",
        },
        {
            trigger: ".o_menu_sections button:contains('Technical')",
        },
        ...menuInApp("Technical", "Automation Rules"),
        ...search("Chorus Pro"),
        {
            trigger: ".o_kanban_record:contains('Chorus Pro: send posted invoices')",
        },
        ...menuInApp("Technical", "Scheduled Actions"),
        ...search("Chorus Pro"),
        {
            trigger: ".o_data_row:contains('Chorus Pro: send invoices')",
        },
        {
            trigger: ".o_data_row:contains('Chorus Pro: follow deposited invoices')",
        },
        {
            trigger: ".o_data_row:contains('Chorus Pro: refresh public customers')",
        },
        {
            trigger: ".o_data_row:contains('Chorus Pro: technical password expiry reminder')",
        },
        {
            content: "Run the follow-up by hand",
            trigger: ".o_data_row:contains('Chorus Pro: follow deposited invoices') .o_data_cell",
            run: "click",
        },
        {
            trigger: ".o_form_view button:contains('Run Manually')",
            run: "click",
        },
        {
            content: "It ran (the test checks what it read)",
            trigger: ".o_form_view button:contains('Run Manually'):enabled",
        },
        ...menuInApp("Technical", "Email Templates"),
        ...search("administrative mandate"),
        {
            trigger: ".o_data_row:contains('Sales: administrative mandate request')",
        },
        {
            trigger: ".o_data_row:contains('Sales: administrative mandate refused')",
        },
    ],
});

tours.add("chorus_readme_salesperson", {
    url: "/odoo",
    steps: () => [
        ...menu("Sales", ".o_breadcrumb:contains('Quotations')", "Orders", "Quotations"),
        {
            content: "The list shows the mandate state as a column",
            trigger: ".o_list_view th:contains('Administrative mandate')",
        },
        openFilters(),
        {
            content: "its filters",
            trigger: ".o_filter_menu .o_menu_item:contains('Signed form received')",
        },
        {
            content: "and a grouping",
            trigger: ".o_group_by_menu .o_menu_item:contains('Administrative mandate')",
        },
        {
            content: "One order in every mandate state",
            trigger: ".o_data_row:contains('Syndicat intercommunal Démo'):contains('To request')",
        },
        {
            trigger: ".o_data_row:contains('Mairie de Démoville'):contains('Requested')",
        },
        {
            trigger: ".o_data_row:contains('Centre hospitalier de Démo'):contains('Signed form received')",
        },
        {
            trigger: ".o_data_row:contains('Établissement public Démo'):contains('Refused')",
        },
        {
            content: "Open the Syndicat intercommunal's quotation",
            trigger: ".o_data_row:contains('Syndicat intercommunal Démo') .o_data_cell",
            run: "click",
        },
        {
            content: "The quotation shows its public payment mode and mandate state",
            trigger: ".o_field_widget[name='chorus_payment_method']",
        },
        {
            trigger: ".o_field_widget[name='chorus_mandate_state']:contains('To request')",
        },
        tab("Administrative mandate"),
        {
            trigger: ".o_field_widget[name='chorus_renewal_type']",
        },
        {
            content: "Send mandate request",
            trigger: ".o_statusbar_buttons button:contains('Send mandate request')",
            run: "click",
        },
        {
            content: "The mandate form is attached to the e-mail",
            trigger: ".modal .o_field_widget[name='attachment_ids']:contains('Administrative mandate')",
        },
        {
            trigger: ".modal .o_mail_send",
            run: "click",
        },
        {
            content: "The mandate is requested",
            trigger: ".o_field_widget[name='chorus_mandate_state']:contains('Requested')",
        },
        {
            content: "The signed form can then be registered",
            trigger: ".o_statusbar_buttons button:contains('Register signed form')",
        },
    ],
});

tours.add("chorus_readme_approver", {
    url: "/odoo",
    steps: () => [
        ...menu("Sales", ".o_breadcrumb:contains('Quotations')", "Orders", "Quotations"),
        openFilters(),
        {
            content: "The orders whose signed form was received",
            trigger: ".o_filter_menu .o_menu_item:contains('Signed form received')",
            run: "click",
        },
        {
            content: "(not only the approver's own quotations)",
            trigger: ".o_searchview_facet:contains('My Quotations') .o_facet_remove",
            run: "click",
        },
        {
            content: "Open the Centre hospitalier's order",
            trigger: ".o_data_row:contains('Centre hospitalier de Démo') .o_data_cell",
            run: "click",
        },
        tab("Administrative mandate"),
        {
            content: "Its signed form",
            trigger: ".o_field_widget[name='chorus_mandate_attachment_id']:contains('mandat-signe')",
        },
        {
            trigger: ".o_statusbar_buttons button:contains('Refuse mandate')",
        },
        {
            content: "Approve mandate",
            trigger: ".o_statusbar_buttons button:contains('Approve mandate')",
            run: "click",
        },
        {
            content: "The signed form is shown",
            trigger: ".modal .o_field_widget[name='document']",
        },
        {
            content: "The hospital requires a service code and an engagement number",
            trigger: ".modal .o_field_widget[name='service_code'] input",
            run: "edit DSI",
        },
        {
            trigger: ".modal .o_field_widget[name='engagement_number'] input",
            run: "edit EJ-CHD-2026-001",
        },
        {
            trigger: ".modal .o_field_widget[name='contract_reference'] input",
            run: "edit MARCHE-2026-12",
        },
        {
            content: "Approve",
            trigger: ".modal button[name='action_approve']",
            run: "click",
        },
        {
            content: "The invoice is created and posted",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains('Posted')",
        },
    ],
});

tours.add("chorus_readme_accountant", {
    url: "/odoo",
    steps: () => [
        ...menu(
            "Invoicing",
            ".o_breadcrumb:contains('Invoices')",
            "Customers",
            "Chorus Pro follow-up"
        ),
        {
            content: "The invoices awaiting payment",
            trigger: ".o_searchview_facet:contains('Chorus Pro: awaiting payment')",
        },
        {
            trigger: ".o_data_row:contains('Université de Démo')",
        },
        openFilters(),
        {
            trigger: ".o_filter_menu .o_menu_item:contains('Chorus Pro: action needed')",
        },
        {
            trigger: ".o_filter_menu .o_menu_item:contains('Chorus Pro: overdue')",
        },
        {
            content: "Remove the filter: the paid, rejected and stopped ones too",
            trigger: ".o_searchview_facet:contains('awaiting payment') .o_facet_remove",
            run: "click",
        },
        {
            trigger: ".o_data_row:contains('Établissement public Démo'):contains('Rejected')",
        },
        {
            trigger: ".o_data_row:contains('Mairie de Démoville'):contains('Error')",
        },
        {
            content: "Open the suspended one (Université de Démo)",
            trigger: ".o_data_row:contains('Université de Démo'):contains('Suspended') .o_data_cell",
            run: "click",
        },
        tab("Chorus Pro"),
        {
            content: "Its Chorus Pro page: status, history",
            trigger: ".o_field_widget[name='chorus_status']:contains('SUSPENDUE')",
        },
        {
            trigger: ".o_field_widget[name='chorus_status_ids'] .o_data_row",
        },
        {
            trigger: "button[name='action_chorus_refresh_history']:contains('Read from Chorus Pro')",
        },
        {
            content: "Complete on Chorus Pro",
            trigger: ".o_statusbar_buttons button:contains('Complete on Chorus Pro')",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name='comment'] textarea",
            run: "edit Voici le bon de livraison signé.",
        },
        {
            trigger: ".modal button[name='action_complete']",
            run: "click",
        },
        {
            content: "Completed: a new payment period starts",
            trigger: ".o_field_widget[name='chorus_status']:contains('COMPLETEE')",
        },
        // The other ways out: re-route, replace.
        {
            trigger: ".o_breadcrumb .breadcrumb-item a:contains('Chorus Pro follow-up')",
            run: "click",
        },
        {
            trigger: ".o_data_row:contains('Mairie de Démoville'):contains('To re-route') .o_data_cell",
            run: "click",
        },
        {
            trigger: ".o_statusbar_buttons button:contains('Re-route on Chorus Pro')",
        },
        {
            trigger: ".o_breadcrumb .breadcrumb-item a:contains('Chorus Pro follow-up')",
            run: "click",
        },
        {
            trigger: ".o_data_row:contains('Établissement public Démo'):contains('Rejected') .o_data_cell",
            run: "click",
        },
        {
            content: "Chorus Pro's reason and the way out",
            trigger: ".alert-danger:contains('Rejected on Chorus Pro')",
        },
        {
            trigger: ".o_statusbar_buttons button:contains('Replace')",
        },
        // Back to the list: the overdue ministry invoice.
        {
            trigger: ".o_breadcrumb .breadcrumb-item a:contains('Chorus Pro follow-up')",
            run: "click",
        },
        openFilters(),
        {
            trigger: ".o_filter_menu .o_menu_item:contains('Chorus Pro: overdue')",
            run: "click",
        },
        {
            content: "Open the overdue ministry invoice",
            trigger: ".o_data_row:contains('Ministère de la Démonstration') .o_data_cell",
            run: "click",
        },
        {
            content: "It says it is late",
            trigger: ".alert:contains('Late payment')",
        },
        tab("Chorus Pro"),
        {
            trigger: ".o_field_widget[name='chorus_late_interest']",
        },
        {
            content: "Claim late-payment interest",
            trigger: ".o_statusbar_buttons button:contains('Claim late-payment interest')",
            run: "click",
        },
        {
            content: "The claim invoice: interest and the 40 € indemnity, no VAT",
            trigger: ".o_field_widget[name='invoice_line_ids'] .o_data_row:contains('40.00'):contains('0%')",
        },
        // The invoice in Error.
        ...menuInApp("Customers", "Chorus Pro follow-up"),
        {
            trigger: ".o_searchview_facet:contains('awaiting payment') .o_facet_remove",
            run: "click",
        },
        {
            content: "Open the invoice in Error (Mairie de Démoville)",
            trigger: ".o_data_row:contains('Mairie de Démoville'):contains('Error') .o_data_cell",
            run: "click",
        },
        {
            content: "It says what is missing and where",
            trigger: ".alert-danger:contains('requires a service code'):contains('Buyer Reference (Other Info tab)')",
        },
        tab("Other Info"),
        {
            trigger: ".o_field_widget[name='buyer_reference'] input",
            run: "edit TECHNIQUE",
        },
        {
            content: "Send to Chorus Pro (saves first)",
            trigger: ".o_statusbar_buttons button:contains('Send to Chorus Pro')",
            run: "click",
        },
        tab("Chorus Pro"),
        {
            content: "Queued for the scheduled action",
            trigger: ".o_field_widget[name='chorus_state']:contains('To send')",
        },
        // Deposits, reporting, ECB rates.
        ...menuInApp("Customers", "Chorus Pro deposits"),
        {
            trigger: ".o_list_view .o_data_row",
        },
        ...menuInApp("Reporting", "Chorus Pro invoices"),
        {
            trigger: ".o_graph_view .o_graph_renderer canvas",
        },
        ...menuInApp("Reporting", "Chorus Pro payment delays"),
        {
            trigger: ".o_action_manager .o_view_controller:not(.o_list_view) .o_control_panel",
        },
        ...menuInApp("Customers", "ECB rates"),
        {
            content: "The ECB rates, the accountant adds the later ones",
            trigger: ".o_list_view .o_data_row:contains('2.15')",
        },
        {
            trigger: ".o_list_button_add",
            run: "click",
        },
        {
            trigger: ".o_selected_row .o_field_widget[name='date_from'] input",
            run: "edit 12/17/2099",
        },
        {
            trigger: ".o_selected_row .o_field_widget[name='rate'] input",
            run: "edit 1.75",
        },
        {
            trigger: ".o_list_button_save",
            run: "click",
        },
        {
            trigger: ".o_list_view .o_data_row:not(.o_selected_row):contains('1.75')",
        },
    ],
});

tours.add("chorus_readme_portal_customer", {
    url: "/my",
    steps: () => [
        {
            content: "My account: the invoices",
            trigger: "a:contains('Your Invoices')",
            run: "click",
        },
        {
            content: "Each invoice's Chorus Pro state",
            trigger: "td.o_chorus_portal_status:contains('To re-route')",
        },
        {
            content: "and legal due date",
            trigger: "td.o_chorus_portal_status:contains('Legal due date')",
        },
        {
            content: "Our own sending steps are not shown to the buyer",
            trigger: "td.o_chorus_portal_status:contains('Being sent to Chorus Pro')",
        },
        {
            trigger: "body:not(:has(td.o_chorus_portal_status:contains('Error')))",
        },
        {
            content: "The invoice page too",
            trigger: "tr:has(td.o_chorus_portal_status:contains('To re-route')) a[title]",
            run: "click",
        },
        {
            trigger: ".o_chorus_portal_invoice:contains('To re-route'):contains('legal due date')",
        },
        {
            content: "Back to my account: the quotation waiting for its mandate",
            trigger: ".breadcrumb a[href='/my/home']",
            run: "click",
        },
        {
            trigger: "a:contains('Quotations to review')",
            run: "click",
        },
        {
            trigger: ".o_portal_my_doc_table tbody a:first",
            run: "click",
        },
        {
            content: "The administrative mandate section",
            trigger: "#chorus_mandate:contains('Administrative mandate')",
        },
        {
            content: "download the form",
            trigger: "#chorus_mandate a:contains('Download the mandate form')",
        },
        {
            content: "upload the signed one",
            trigger: "#chorus_mandate form.o_chorus_mandate_upload input[name='signed_form']",
        },
    ],
});
