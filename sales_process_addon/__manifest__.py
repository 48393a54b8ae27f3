{
    "name": "Sales Process: Buyer-Aligned Pipelines",
    "summary": "Several sales processes per company, each stage paired with the customer's "
    "buying stage and a funnel state",
    "version": "19.0.1.0.0",
    "category": "Sales/CRM",
    "license": "LGPL-3",
    "author": "sales_process_addon developers",
    "website": "https://example.com/sales_process_addon",
    "depends": ["crm"],
    "data": [
        "security/sales_process_security.xml",
        "security/ir.model.access.csv",
        "data/crm_funnel_state_data.xml",
        "data/crm_pipeline_type_standard_data.xml",
        "data/crm_pipeline_type_data.xml",
        "data/crm_evidence_kind_data.xml",
        "views/crm_funnel_state_views.xml",
        "views/crm_buyer_process_views.xml",
        "views/crm_pipeline_type_views.xml",
        "views/crm_stage_views.xml",
        "views/crm_lead_views.xml",
        "views/crm_team_views.xml",
        "views/res_config_settings_views.xml",
        "views/sales_process_menus.xml",
    ],
    "demo": [
        "demo/crm_lead_demo.xml",
    ],
    "assets": {
        "web.assets_tests": [
            "sales_process_addon/static/tests/tours/*.js",
        ],
    },
    "post_init_hook": "post_init_hook",
    "installable": True,
    "application": False,
}
