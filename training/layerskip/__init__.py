"""LayerSkip continual pretraining (Elhoushi et al., ACL 2024) of a Hugging Face Llama checkpoint, plain PyTorch."""
