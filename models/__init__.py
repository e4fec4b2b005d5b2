"""The models and their training: the shared classifier (`classifier`) around each backbone (`mobilenet_v2`,
`cnn`, `vit`), the cyclical LR (`clr`), two-phase training that resumes (`training`), knowledge distillation,
distribution, the LR range test; and what uses a trained model: evaluation, calibration, activation maps
(`cam`), exports (`export`, `portable`) and inference (`inference`, which needs Keras only for Keras files).
Import from the modules."""
