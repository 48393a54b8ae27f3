import { registry } from "@web/core/registry";
import {
    buildM2OFieldDescription,
    Many2OneField,
} from "@web/views/fields/many2one/many2one_field";

/**
 * A customer's person by their own name ("Markus Brandt"), not by the partner's
 * display name ("Kessler Antriebstechnik GmbH, Markus Brandt"): in a narrow
 * column of the customer's people the company prefix hides who each row is.
 * A contact without a name of its own (an address) keeps its display name.
 *
 * The context key `partner_display_name_hide_company` alone is not enough: the
 * partner's display name does not depend on it, so a name computed earlier in
 * the same request (e.g. by the milestone checklist) is served from the cache.
 */
export class ContactNameField extends Many2OneField {
    get m2oProps() {
        const props = super.m2oProps;
        if (props.value?.name) {
            props.value = { ...props.value, display_name: props.value.name };
        }
        return props;
    }
}

registry.category("fields").add("sales_process_contact_name", {
    ...buildM2OFieldDescription(ContactNameField),
    relatedFields: [{ name: "name", type: "char" }],
});
