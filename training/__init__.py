"""Training of the audio-to-mouth network (issue 3); kept apart from the `pipeline` package.

`python -m training.train_mouth` (or `make train-mouth`) builds the corpus, trains, and
writes checkpoints/mouth_net.onnx. Needs the `train` extra (torch, pyworld).
"""
