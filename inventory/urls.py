from django.urls import path

from . import views

urlpatterns = [
    path("", views.assets, name="inventory_assets"),
    path("assets/<int:pk>/", views.asset_detail, name="inventory_asset"),
    path("assets/<int:pk>/transfer/", views.asset_transfer, name="inventory_asset_transfer"),
    path("assets/<int:pk>/write-off/", views.asset_write_off, name="inventory_asset_write_off"),
    path("receipt/", views.receipt, name="inventory_receipt"),
    path("e-invoice/", views.esf_import, name="inventory_esf"),
    path("labels/", views.label_sheet, name="inventory_labels"),
    path("reference/", views.reference, name="inventory_reference"),
    path("depreciation/", views.depreciation, name="inventory_depreciation"),
    path("counts/", views.counts, name="inventory_counts"),
    path("counts/<int:pk>/", views.count_detail, name="inventory_count"),
    path("counts/<int:pk>/progress/", views.count_progress, name="inventory_count_progress"),
    path("counts/<int:pk>/<slug:step>/", views.count_step, name="inventory_count_step"),
    path("counts/<int:pk>/files/<slug:name>.<slug:fmt>", views.count_file, name="inventory_count_file"),
]
