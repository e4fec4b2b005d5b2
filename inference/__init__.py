"""The trained model as it leaves training: exported to files and each checked against Keras (`export`: .h5
and the card's inputs; `portable`: .keras, SavedModel, ONNX, TFLite), and run on raw pixels from those files
(`runtime`: ONNX through ONNX Runtime without Keras, .h5 and .keras through Keras), and the "not recognised"
score fitted and put in the model (`novelty`). Import from the modules."""
