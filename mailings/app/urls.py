from django.urls import path

from mailings.app import compose, live, report

urlpatterns = [
    path("", compose.drive_list, name="drive-list"),
    path("new/", compose.drive_new, name="drive-new"),
    path("compose/check/", compose.composer_check, name="drive-composer-check"),
    path("compose/audience/", compose.composer_audience, name="drive-composer-audience"),
    path("compose/excluded/", compose.composer_excluded, name="drive-composer-excluded"),
    path("compose/people/", compose.composer_people, name="drive-composer-people"),
    path("compose/preview/", compose.composer_preview, name="drive-composer-preview"),
    path("<int:pk>/", live.drive_detail, name="drive-detail"),
    path("<int:pk>/edit/", compose.drive_edit, name="drive-edit"),
    path("<int:pk>/test/", live.drive_test_send, name="drive-test-send"),
    path("<int:pk>/send/", live.drive_confirm, name="drive-confirm"),
    path("<int:pk>/approve/", live.drive_approve, name="drive-approve"),
    path("<int:pk>/send-back/", live.drive_send_back, name="drive-send-back"),
    path("<int:pk>/pause/", live.drive_control, {"action": "pause"}, name="drive-pause"),
    path("<int:pk>/resume/", live.drive_control, {"action": "resume"}, name="drive-resume"),
    path("<int:pk>/cancel/", live.drive_control, {"action": "cancel"}, name="drive-cancel"),
    path("<int:pk>/send-again/", live.drive_send_again, name="drive-send-again"),
    path("<int:pk>/report/", report.drive_report_page, name="drive-report"),
    path("<int:pk>/report.csv", report.drive_report_csv, name="drive-report-csv"),
]
