"""Generation: turning chunks into questions, answers and tags through LLMs (all traffic via runner.py)."""
