"""The data: which data sets a run can train on and what their pictures are like (`datasets`), read from IDX files
(`idx`: Fashion-MNIST, MNIST), CIFAR's archives (`cifar`) or a folder of pictures (`folder`); the train/validation
split and the batches that feed the model (`pipeline`); users' pictures converted as the data set was made
(`images`). Import from the modules; the pipeline needs Keras, the others only NumPy, scikit-learn and Pillow."""
