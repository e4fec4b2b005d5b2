"""What a trained model is worth: test metrics and the classification report (`metrics`), how far to trust its
confidence (`calibration`), where it looked (`cam`: LayerCAM, Grad-CAM, occlusion) and whether that follows a moved
garment (`cam_shift`); the pictures beyond the test set it is measured on (`photos`: test images rendered as
photos, `corruptions`: the corruption suite, `non_garments`: pictures that are not garments); test-time views
(`tta`) and ensembles (`ensemble`). bench/'s scripts measure with these; nothing here imports bench/. Import from
the modules."""
