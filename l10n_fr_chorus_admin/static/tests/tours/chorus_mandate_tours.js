import { registry } from "@web/core/registry";

// These tours rely on the orders created by tests/test_mandate_tours.py.

registry.category("web_tour.tours").add("chorus_mandate_request_tour", {
    steps: () => [
        {
            content: "The quotation shows the public payment mode",
            trigger: ".o_field_widget[name='chorus_payment_method']:contains('Administrative mandate')",
        },
        {
            content: "Send the mandate request",
            trigger: ".o_statusbar_buttons button[name='action_chorus_send_mandate']",
            run: "click",
        },
        {
            content: "The mandate form is attached to the e-mail",
            trigger: ".modal .o_field_widget[name='attachment_ids']:contains('Administrative mandate')",
        },
        {
            content: "Send the e-mail",
            trigger: ".modal .o_mail_send",
            run: "click",
        },
        {
            content: "The mandate is requested",
            trigger: ".o_field_widget[name='chorus_mandate_state']:contains('Requested')",
        },
    ],
});

registry.category("web_tour.tours").add("chorus_mandate_portal_tour", {
    steps: () => [
        {
            content: "Sign & pay the quotation",
            trigger: ".o_portal_sale_sidebar a.btn-primary:contains('Sign')",
            run: "click",
        },
        {
            content: "The signatory's name is filled in",
            trigger: ".modal .o_web_sign_name_and_signature input:value(Jeanne Acheteuse)",
        },
        {
            content: "Pick a signature style (the signature is drawn from the name)",
            trigger: ".modal .o_web_sign_auto_select_style button",
            run: "click",
        },
        {
            trigger: ".o-dropdown-item:eq(1)",
            run: "click",
        },
        {
            content: "Accept and sign",
            trigger: ".modal .o_portal_sign_submit:enabled",
            run: "click",
        },
        {
            content: "The administrative mandate is offered",
            trigger: "#payment_method:contains('Administrative mandate')",
        },
        {
            content: "Choose it and confirm",
            trigger: "button[name='o_payment_submit_button']",
            run() {
                const radio = document.querySelector(
                    "input[name='o_payment_radio'][data-payment-method-code='administrative_mandate']"
                );
                if (!radio.checked) {
                    radio.click();
                }
                document.querySelector("button[name='o_payment_submit_button']").click();
            },
        },
        {
            content: "Instructions instead of a payment",
            trigger: "body:contains('nothing is charged today')",
        },
        {
            content: "Back on the order, the mandate section asks for the signed form",
            trigger: "#chorus_mandate form.o_chorus_mandate_upload",
            timeout: 20000,
        },
        {
            content: "Upload the signed form",
            trigger: "#chorus_mandate input[name='signed_form']",
            run() {
                const input = document.querySelector("#chorus_mandate input[name='signed_form']");
                const transfer = new DataTransfer();
                transfer.items.add(
                    new File(
                        ["%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"],
                        "mandat-signe.pdf",
                        { type: "application/pdf" }
                    )
                );
                input.files = transfer.files;
                document.querySelector("#chorus_mandate .o_chorus_mandate_send").click();
            },
        },
        {
            content: "The signed form is received",
            trigger: "#chorus_mandate .o_chorus_mandate_message.alert-success",
        },
        {
            trigger: "#chorus_mandate .o_chorus_mandate_received",
        },
    ],
});

registry.category("web_tour.tours").add("chorus_mandate_approval_tour", {
    steps: () => [
        {
            content: "Approve the mandate",
            trigger: ".o_statusbar_buttons button[name='action_chorus_approve_mandate']",
            run: "click",
        },
        {
            content: "The signed document is shown",
            trigger: ".modal .o_field_widget[name='document']",
        },
        {
            content: "Service code written on the form",
            trigger: ".modal .o_field_widget[name='service_code'] input",
            run: "edit TECHNIQUE",
        },
        {
            content: "Engagement number written on the form",
            trigger: ".modal .o_field_widget[name='engagement_number'] input",
            run: "edit EJ-2026-77",
        },
        {
            content: "Approve and invoice",
            trigger: ".modal button[name='action_approve']",
            run: "click",
        },
        {
            content: "The invoice is posted",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains('Posted')",
        },
    ],
});
