"""The data: what each data set's pictures are like (`spec`: the `DataSpec` a run and its exports keep, with
nothing to load), the data sets a run can train on, loaded and checked (`datasets`), read from IDX files (`idx`:
Fashion-MNIST, MNIST), CIFAR's archives (`cifar`) or a folder of pictures (`folder`); the train/validation split
and the batches that feed the model (`pipeline`); users' pictures converted as the data set was made (`images`).
Import from the modules; the pipeline needs Keras, the others only NumPy, scikit-learn and Pillow."""
