from django.urls import path

from contacts import views

urlpatterns = [
    path("", views.contact_list, name="contact-list"),
    path("<int:pk>/", views.contact_detail, name="contact-detail"),
    path(
        "<int:pk>/subject-access.<str:fmt>",
        views.subject_access,
        name="contact-subject-access",
    ),
    path("schools/<int:pk>/", views.school_detail, name="school-detail"),
]
