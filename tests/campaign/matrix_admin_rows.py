"""The permission matrix's rows for the Django admin (see
tests/campaign/test_permission_matrix.py for the format): every admin URL, each role."""

ADMIN_ROWS = {
    # admin
    "admin/": {"GET -": "L 200 200 200 200"},
    "admin/login/": {"GET -": "200 302 302 302 302"},
    "admin/logout/": {"GET -": "302 405 405 405 405"},
    "admin/password_change/": {"GET -": "L 200 200 200 200"},
    "admin/password_change/done/": {"GET -": "L 200 200 200 200"},
    "admin/autocomplete/": {"GET -": "L 403 403 403 403"},
    "admin/jsi18n/": {"GET -": "L 200 200 200 200"},
    "admin/r/<path:content_type_id>/<path:object_id>/": {
        "GET contact_a_on_site": "L 404 404 404 404",
    },
    # admin/auth/group
    "admin/auth/group/": {"GET -": "L 403 403 403 403"},
    "admin/auth/group/add/": {"GET -": "L 403 403 403 403"},
    "admin/auth/group/<path:object_id>/history/": {"GET group": "L 403 403 403 403"},
    "admin/auth/group/<path:object_id>/delete/": {"GET group": "L 403 403 403 403"},
    "admin/auth/group/<path:object_id>/change/": {"GET group": "L 403 403 403 403"},
    "admin/auth/group/<path:object_id>/": {"GET group": "L 302 302 302 302"},
    # admin/campaign/campaign
    "admin/campaign/campaign/": {"GET -": "L 200 200 200 200"},
    "admin/campaign/campaign/add/": {"GET -": "L 200 403 403 403"},
    "admin/campaign/campaign/<path:object_id>/history/": {"GET campaign": "L 200 200 200 200"},
    "admin/campaign/campaign/<path:object_id>/delete/": {"GET campaign": "L 200 403 403 403"},
    "admin/campaign/campaign/<path:object_id>/change/": {"GET campaign": "L 200 200 200 200"},
    "admin/campaign/campaign/<path:object_id>/": {"GET campaign": "L 302 302 302 302"},
    # admin/campaign/teammember
    "admin/campaign/teammember/": {"GET -": "L 200 403 403 403"},
    "admin/campaign/teammember/add/": {"GET -": "L 200 403 403 403"},
    "admin/campaign/teammember/<path:object_id>/history/": {
        "GET member_lead_a": "L 200 403 403 403",
    },
    "admin/campaign/teammember/<path:object_id>/delete/": {
        "GET member_lead_a": "L 200 403 403 403",
    },
    "admin/campaign/teammember/<path:object_id>/change/": {
        "GET member_lead_a": "L 200 403 403 403",
        "POST member_lead_a edit_member_lead_a": "L 302 403 403 403",
    },
    "admin/campaign/teammember/<path:object_id>/": {"GET member_lead_a": "L 302 302 302 302"},
    # admin/campaign/auditevent
    "admin/campaign/auditevent/": {"GET -": "L 200 403 403 403"},
    "admin/campaign/auditevent/add/": {"GET -": "L 403 403 403 403"},
    "admin/campaign/auditevent/<path:object_id>/history/": {"GET audit": "L 200 403 403 403"},
    "admin/campaign/auditevent/<path:object_id>/delete/": {"GET audit": "L 403 403 403 403"},
    "admin/campaign/auditevent/<path:object_id>/change/": {"GET audit": "L 200 403 403 403"},
    "admin/campaign/auditevent/<path:object_id>/": {"GET audit": "L 302 302 302 302"},
    # admin/auth/user
    "admin/auth/user/<id>/password/": {
        "GET user_lead_a": "L 200 403 403 403",
        "GET user_organiser": "L 200 403 403 403",
        "POST user_organiser new_password": "L 302 403 403 403",
    },
    "admin/auth/user/": {"GET -": "L 200 403 403 403"},
    "admin/auth/user/add/": {"GET -": "L 200 403 403 403"},
    "admin/auth/user/<path:object_id>/history/": {
        "GET user_lead_a": "L 200 403 403 403",
        "GET user_organiser": "L 200 403 403 403",
    },
    "admin/auth/user/<path:object_id>/delete/": {
        "GET user_lead_a": "L 200 403 403 403",
        "GET user_organiser": "L 200 403 403 403",
    },
    "admin/auth/user/<path:object_id>/change/": {
        "GET user_lead_a": "L 200 403 403 403",
        "GET user_organiser": "L 200 403 403 403",
    },
    "admin/auth/user/<path:object_id>/": {
        "GET user_lead_a": "L 302 302 302 302",
        "GET user_organiser": "L 302 302 302 302",
    },
    # admin/campaign/canvasspack
    "admin/campaign/canvasspack/": {"GET -": "L 200 403 403 403"},
    "admin/campaign/canvasspack/add/": {"GET -": "L 403 403 403 403"},
    "admin/campaign/canvasspack/<path:object_id>/history/": {
        "GET pack_a": "L 200 404 403 404",
        "GET pack_b": "L 200 404 404 403",
    },
    "admin/campaign/canvasspack/<path:object_id>/delete/": {
        "GET pack_a": "L 200 404 403 404",
        "GET pack_b": "L 200 404 404 403",
    },
    "admin/campaign/canvasspack/<path:object_id>/change/": {
        "GET pack_a": "L 200 404 403 404",
        "GET pack_b": "L 200 404 404 403",
    },
    "admin/campaign/canvasspack/<path:object_id>/": {
        "GET pack_a": "L 302 302 302 302",
        "GET pack_b": "L 302 302 302 302",
    },
    # admin/contacts/gotvevent
    "admin/contacts/gotvevent/": {"GET -": "L 200 403 403 403"},
    "admin/contacts/gotvevent/add/": {"GET -": "L 403 403 403 403"},
    "admin/contacts/gotvevent/<path:object_id>/history/": {
        "GET gotv_a": "L 200 403 403 404",
        "GET gotv_b": "L 200 404 404 403",
    },
    "admin/contacts/gotvevent/<path:object_id>/delete/": {
        "GET gotv_a": "L 403 403 403 404",
        "GET gotv_b": "L 403 404 404 403",
    },
    "admin/contacts/gotvevent/<path:object_id>/change/": {
        "GET gotv_a": "L 200 403 403 404",
        "GET gotv_b": "L 200 404 404 403",
    },
    "admin/contacts/gotvevent/<path:object_id>/": {
        "GET gotv_a": "L 302 302 302 302",
        "GET gotv_b": "L 302 302 302 302",
    },
    # admin/axes/accessattempt
    "admin/axes/accessattempt/": {"GET -": "L 200 403 403 403"},
    "admin/axes/accessattempt/add/": {"GET -": "L 403 403 403 403"},
    "admin/axes/accessattempt/<path:object_id>/history/": {"GET attempt": "L 200 403 403 403"},
    "admin/axes/accessattempt/<path:object_id>/delete/": {
        "GET attempt": "L 200 403 403 403",
        "POST attempt confirm_delete": "L 302 403 403 403",
    },
    "admin/axes/accessattempt/<path:object_id>/change/": {"GET attempt": "L 200 403 403 403"},
    "admin/axes/accessattempt/<path:object_id>/": {"GET attempt": "L 302 302 302 302"},
    # admin/otp_totp/totpdevice
    "admin/otp_totp/totpdevice/": {"GET -": "L 200 403 403 403"},
    "admin/otp_totp/totpdevice/add/": {"GET -": "L 403 403 403 403"},
    "admin/otp_totp/totpdevice/<path:object_id>/history/": {"GET device": "L 200 403 403 403"},
    "admin/otp_totp/totpdevice/<path:object_id>/delete/": {"GET device": "L 200 403 403 403"},
    "admin/otp_totp/totpdevice/<path:object_id>/change/": {"GET device": "L 200 403 403 403"},
    "admin/otp_totp/totpdevice/<path:object_id>/": {"GET device": "L 302 302 302 302"},
    # admin/contacts/district
    "admin/contacts/district/": {"GET -": "L 200 200 200 200"},
    "admin/contacts/district/add/": {"GET -": "L 200 403 403 403"},
    "admin/contacts/district/<path:object_id>/history/": {
        "GET district_a": "L 200 200 200 404",
        "GET district_b": "L 200 404 404 200",
    },
    "admin/contacts/district/<path:object_id>/delete/": {
        "GET district_a": "L 200 403 403 404",
        "GET district_b": "L 200 404 404 403",
    },
    "admin/contacts/district/<path:object_id>/change/": {
        "GET district_a": "L 200 200 200 404",
        "GET district_b": "L 200 404 404 200",
    },
    "admin/contacts/district/<path:object_id>/": {
        "GET district_a": "L 302 302 302 302",
        "GET district_b": "L 302 302 302 302",
    },
    # admin/contacts/school
    "admin/contacts/school/": {"GET -": "L 200 200 200 200"},
    "admin/contacts/school/add/": {"GET -": "L 200 403 403 403"},
    "admin/contacts/school/<path:object_id>/history/": {
        "GET school_a": "L 200 200 200 404",
        "GET school_b": "L 200 404 404 200",
    },
    "admin/contacts/school/<path:object_id>/delete/": {
        "GET school_a": "L 200 403 403 404",
        "GET school_b": "L 200 404 404 403",
    },
    "admin/contacts/school/<path:object_id>/change/": {
        "GET school_a": "L 200 200 200 404",
        "GET school_b": "L 200 404 404 200",
    },
    "admin/contacts/school/<path:object_id>/": {
        "GET school_a": "L 302 302 302 302",
        "GET school_b": "L 302 302 302 302",
    },
    # admin/contacts/tag
    "admin/contacts/tag/": {"GET -": "L 200 403 403 403"},
    "admin/contacts/tag/add/": {"GET -": "L 200 403 403 403"},
    "admin/contacts/tag/<path:object_id>/history/": {"GET tag": "L 200 403 403 403"},
    "admin/contacts/tag/<path:object_id>/delete/": {"GET tag": "L 200 403 403 403"},
    "admin/contacts/tag/<path:object_id>/change/": {"GET tag": "L 200 403 403 403"},
    "admin/contacts/tag/<path:object_id>/": {"GET tag": "L 302 302 302 302"},
    # admin/contacts/contact
    "admin/contacts/contact/import/": {"GET -": "L 200 403 403 403"},
    "admin/contacts/contact/import/rejected.<str:file_format>": {
        "GET rejected_csv": "L 403 403 403 403",
    },
    "admin/contacts/contact/export/": {"GET -": "L 200 403 403 403"},
    "admin/contacts/contact/": {"GET -": "L 200 200 200 200"},
    "admin/contacts/contact/add/": {"GET -": "L 200 403 403 403"},
    "admin/contacts/contact/<path:object_id>/history/": {
        "GET contact_a": "L 200 200 200 404",
        "GET contact_b": "L 200 404 404 200",
    },
    "admin/contacts/contact/<path:object_id>/delete/": {
        "GET contact_a": "L 200 403 403 404",
        "GET contact_b": "L 200 404 404 403",
        # Deleting a supporter is erasure (contacts/services/erasure.py): organisers only.
        "POST contact_a confirm_delete": "L 302 403 403 404",
        "POST contact_b confirm_delete": "L 302 404 404 403",
    },
    "admin/contacts/contact/<path:object_id>/change/": {
        "GET contact_a": "L 200 200 200 404",
        "GET contact_b": "L 200 404 404 200",
        # A lead of B editing District A's supporter, a volunteer recording a vote.
        "POST contact_a edit_contact_a": "L 302 403 302 404",
        "POST contact_b edit_contact_b": "L 302 404 404 302",
        "POST contact_a gotv_contact_a": "L 302 403 302 404",
    },
    "admin/contacts/contact/<path:object_id>/": {
        "GET contact_a": "L 302 302 302 302",
        "GET contact_b": "L 302 302 302 302",
    },
    # admin/contacts/consentrecord
    "admin/contacts/consentrecord/": {"GET -": "L 200 200 200 200"},
    "admin/contacts/consentrecord/add/": {"GET -": "L 200 403 403 403"},
    "admin/contacts/consentrecord/<path:object_id>/history/": {
        "GET consent_a": "L 200 200 200 404",
        "GET consent_b": "L 200 404 404 200",
    },
    "admin/contacts/consentrecord/<path:object_id>/delete/": {
        "GET consent_a": "L 403 403 403 404",
        "GET consent_b": "L 403 404 404 403",
    },
    "admin/contacts/consentrecord/<path:object_id>/change/": {
        "GET consent_a": "L 200 200 200 404",
        "GET consent_b": "L 200 404 404 200",
    },
    "admin/contacts/consentrecord/<path:object_id>/": {
        "GET consent_a": "L 302 302 302 302",
        "GET consent_b": "L 302 302 302 302",
    },
    # admin/contacts/emailchange: organisers only; nobody adds or deletes one here.
    "admin/contacts/emailchange/": {
        "GET -": "L 200 403 403 403",
        "POST - apply_email_change": "L 302 403 403 403",
        "POST - reject_email_change": "L 302 403 403 403",
    },
    "admin/contacts/emailchange/add/": {"GET -": "L 403 403 403 403"},
    # Out of every other role's scope, like an import batch: 404.
    "admin/contacts/emailchange/<path:object_id>/history/": {
        "GET email_change": "L 200 404 404 404",
    },
    "admin/contacts/emailchange/<path:object_id>/delete/": {
        "GET email_change": "L 403 404 404 404",
        "POST email_change confirm_delete": "L 403 404 404 404",
    },
    "admin/contacts/emailchange/<path:object_id>/change/": {
        "GET email_change": "L 200 404 404 404",
    },
    "admin/contacts/emailchange/<path:object_id>/": {"GET email_change": "L 302 302 302 302"},
    # admin/contacts/importbatch
    "admin/contacts/importbatch/<int:pk>/rejected.<str:file_format>": {
        "GET batch_csv": "L 200 404 404 404",
    },
    "admin/contacts/importbatch/<int:pk>/undo/": {
        "GET batch": "L 200 404 404 404",
        "POST batch empty": "L 302 404 404 404",
    },
    "admin/contacts/importbatch/<int:pk>/confirm/": {"GET batch": "L 200 404 404 404"},
    "admin/contacts/importbatch/": {"GET -": "L 200 403 403 403"},
    "admin/contacts/importbatch/add/": {"GET -": "L 403 403 403 403"},
    "admin/contacts/importbatch/<path:object_id>/history/": {"GET batch": "L 200 404 404 404"},
    "admin/contacts/importbatch/<path:object_id>/delete/": {"GET batch": "L 403 404 404 404"},
    "admin/contacts/importbatch/<path:object_id>/change/": {"GET batch": "L 200 404 404 404"},
    "admin/contacts/importbatch/<path:object_id>/": {"GET batch": "L 302 302 302 302"},
    # admin/contacts/suppression
    "admin/contacts/suppression/": {"GET -": "L 200 403 403 403"},
    "admin/contacts/suppression/add/": {"GET -": "L 200 403 403 403"},
    "admin/contacts/suppression/<path:object_id>/history/": {
        "GET suppression": "L 200 403 403 403",
    },
    "admin/contacts/suppression/<path:object_id>/delete/": {"GET suppression": "L 403 403 403 403"},
    "admin/contacts/suppression/<path:object_id>/change/": {"GET suppression": "L 200 403 403 403"},
    "admin/contacts/suppression/<path:object_id>/": {"GET suppression": "L 302 302 302 302"},
    # admin/mailings/mailing
    "admin/mailings/mailing/<path:object_id>/report/": {
        "GET drive_a": "L 200 200 403 403",
        "GET drive_b": "L 200 404 403 403",
    },
    "admin/mailings/mailing/<path:object_id>/report.csv": {
        "GET drive_a": "L 200 200 403 403",
        "GET drive_b": "L 200 404 403 403",
    },
    "admin/mailings/mailing/": {"GET -": "L 200 200 403 403"},
    "admin/mailings/mailing/add/": {"GET -": "L 200 200 403 403"},
    "admin/mailings/mailing/<path:object_id>/history/": {
        "GET drive_a": "L 200 200 404 404",
        "GET drive_b": "L 200 404 404 404",
    },
    "admin/mailings/mailing/<path:object_id>/delete/": {
        "GET drive_a": "L 200 403 404 404",
        "GET drive_b": "L 200 404 404 404",
    },
    "admin/mailings/mailing/<path:object_id>/change/": {
        "GET drive_a": "L 200 200 404 404",
        "GET drive_b": "L 200 404 404 404",
        "POST drive_a edit_drive_a": "L 302 302 404 404",
    },
    "admin/mailings/mailing/<path:object_id>/": {
        "GET drive_a": "L 302 302 302 302",
        "GET drive_b": "L 302 302 302 302",
    },
    # admin/mailings/recipient
    "admin/mailings/recipient/": {"GET -": "L 200 403 403 403"},
    "admin/mailings/recipient/add/": {"GET -": "L 403 403 403 403"},
    "admin/mailings/recipient/<path:object_id>/history/": {
        "GET recipient_a": "L 200 403 404 404",
        "GET recipient_b": "L 200 404 404 404",
    },
    "admin/mailings/recipient/<path:object_id>/delete/": {
        "GET recipient_a": "L 403 403 404 404",
        "GET recipient_b": "L 403 404 404 404",
    },
    "admin/mailings/recipient/<path:object_id>/change/": {
        "GET recipient_a": "L 200 403 404 404",
        "GET recipient_b": "L 200 404 404 404",
    },
    "admin/mailings/recipient/<path:object_id>/": {
        "GET recipient_a": "L 302 302 302 302",
        "GET recipient_b": "L 302 302 302 302",
    },
}
