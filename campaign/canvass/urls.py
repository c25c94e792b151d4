from django.urls import path

from campaign.canvass import views, workspace

urlpatterns = [
    path("", views.canvass_home, name="canvass-home"),
    path("my-schools/", workspace.my_schools_view, name="my-schools"),
    path("chase/", workspace.chase_list_view, name="gotv-chase"),
    path("supporters/<int:pk>/tap/", workspace.contact_tap, name="gotv-tap"),
    path("supporters/<int:pk>/flag/", workspace.contact_flag, name="gotv-flag"),
    path("districts/<int:pk>/", views.district_detail, name="canvass-district"),
    path("districts/<int:pk>/pack/", views.district_pack_request, name="canvass-pack-request"),
    path(
        "districts/<int:pk>/no-school.pdf", views.no_school_sheet_pdf, name="canvass-no-school-pdf"
    ),
    path("packs/<int:pk>/", views.pack_detail, name="canvass-pack"),
    path("packs/<int:pk>/download/", views.pack_download, name="canvass-pack-download"),
    path("packs/<int:pk>/retry/", views.pack_retry, name="canvass-pack-retry"),
    path("schools/<int:pk>/sheet.pdf", views.school_sheet_pdf, name="canvass-sheet-pdf"),
    path("schools/<int:pk>/sheet.xlsx", views.school_sheet_xlsx, name="canvass-sheet-xlsx"),
    path("schools/<int:pk>/tick/", views.school_tick, name="canvass-tick"),
    path("schools/<int:pk>/upload/", views.school_upload, name="canvass-upload"),
]
