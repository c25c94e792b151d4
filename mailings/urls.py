from django.urls import path

from mailings import views

urlpatterns = [
    path("<int:pk>/preview/", views.preview, name="mailing-preview"),
    path("<int:pk>/preview/html/", views.preview_html, name="mailing-preview-html"),
]
