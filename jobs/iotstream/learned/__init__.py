"""The learned detector's model, without Spark: the features it scores (features.py, the
reference the engine's LearnedRule.java must equal), the Isolation Forest as plain data and its
score (forest.py), and the artifact that carries both with its metadata (artifact.py); and the
training's steps (training.py, numpy and scikit-learn: never imported by the job).
iotstream/train.py (./scripts/train.sh) makes artifacts; the job's driver picks the newest one
(models.py) and the engine scores with it (LearnedRule.java)."""
