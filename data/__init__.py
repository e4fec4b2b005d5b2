"""The data: Fashion-MNIST's files read and checked (`fashion_mnist`), the train/validation split and the
batches that feed the model (`pipeline`), and users' pictures converted as the data set was made (`images`).
Import from the modules; the pipeline needs Keras, the other two only NumPy and Pillow."""
