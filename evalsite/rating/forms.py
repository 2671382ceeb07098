"""Forms of the rater's pages; they only parse, services decide."""

from __future__ import annotations

from django import forms


class DisplayForm(forms.Form):
    """What display.js measured in the rater's browser."""

    device_pixel_ratio = forms.FloatField(min_value=0.1, max_value=10)
    window_width = forms.IntegerField(min_value=0, max_value=20000)
    window_height = forms.IntegerField(min_value=0, max_value=20000)
    zoom_ok = forms.BooleanField(required=False)
    coarse_pointer = forms.BooleanField(required=False)
    zoom_hint = forms.FloatField(min_value=0, max_value=100, required=False)  # outerWidth / innerWidth


class JudgmentForm(forms.Form):
    """A choice on one trial, with the telemetry trial.js recorded."""

    trial = forms.CharField(max_length=64)
    choice = forms.ChoiceField(choices=[("left", "left"), ("right", "right"), ("tie", "tie")])
    response_ms = forms.IntegerField(min_value=0, max_value=24 * 3600 * 1000)
    switches = forms.IntegerField(min_value=0, max_value=100000, required=False)
