"""What a trained model is worth: test metrics and the classification report (`metrics`), how far to trust its
confidence (`calibration`), and where it looked (`cam`: LayerCAM, Grad-CAM, occlusion). Import from the modules."""
