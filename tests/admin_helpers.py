"""Helpers for driving the Django admin through the test client."""

from django.urls import reverse


def changelist_pks(response):
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].result_list}


def admin_form_data(response):
    """POST data reproducing the admin change/add form as rendered (main form + inlines)."""
    data = {}
    form = response.context["adminform"].form
    for name in form.fields:
        value = form[name].value()
        if value is None:
            continue
        if isinstance(value, bool):
            if value:
                data[name] = "on"
            continue
        if isinstance(value, list | tuple):
            data[name] = [str(getattr(v, "pk", v)) for v in value]
            continue
        data[name] = str(value)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for key, value in formset.management_form.initial.items():
            data[formset.management_form.add_prefix(key)] = str(value)
        for subform in formset.initial_forms:
            data[subform.add_prefix("id")] = str(subform.instance.pk)
            data[subform.add_prefix(formset.fk.name)] = str(formset.instance.pk)
    return data


def contact_change_url(contact):
    return reverse("admin:contacts_contact_change", args=[contact.pk])


def new_contact_data(client, **values):
    data = admin_form_data(client.get(reverse("admin:contacts_contact_add")))
    data.update(values)
    return data
