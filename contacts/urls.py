from django.urls import path

from contacts import views, views_import

urlpatterns = [
    path("", views.contact_list, name="contact-list"),
    path("<int:pk>/", views.contact_detail, name="contact-detail"),
    path(
        "<int:pk>/subject-access.<str:fmt>",
        views.subject_access,
        name="contact-subject-access",
    ),
    path("schools/<int:pk>/", views.school_detail, name="school-detail"),
    # The organiser's imports (contacts/views_import.py).
    path("import/", views_import.import_list, name="import-list"),
    path("import/columns/", views_import.import_map, name="import-map"),
    path("import/preview/", views_import.import_preview, name="import-preview"),
    path("import/confirm/", views_import.import_confirm, name="import-confirm"),
    path("import/<int:pk>/", views_import.import_detail, name="import-detail"),
    path(
        "import/<int:pk>/rejected.<str:file_format>",
        views_import.import_rejected,
        name="import-rejected",
    ),
    path("import/<int:pk>/undo/", views_import.import_undo, name="import-undo"),
]
