"""What a representation is judged by: the report of each encoder's metrics, the floors
its checks hold it to, the encoders side by side, and the pictures of it."""
