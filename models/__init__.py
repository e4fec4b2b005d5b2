"""The models and their training: a run's config, new from the command line or read back from a trained run's
folder (`runs`), the classifier every architecture shares (`classifier`) around its backbone
(`mobilenet_v2`, `cnn`, `vit`), the training-only augmentation (`augmentation`), the cyclical LR (`clr`),
two-phase training, a phase at a time (`training`), the callbacks around each epoch that make it resume exactly
(`callbacks`), a run folder's life (`run_folder`), knowledge distillation, distribution over devices
(`distribute`) and the LR range test (`lr_range`). What uses a trained model lives in `evaluation/` and
`inference/`. Import from the modules."""
