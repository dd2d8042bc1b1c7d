"""Feedback that teaches the bot: ratings, candidate gold answers and their review, dataset
export with redaction and leak-free splits, LoRA fine-tuning, and the support analytics.

Import from the modules (``bot.feedback.service``, ``bot.feedback.cli``...): this package file
imports nothing, so the fine-tuning code runs where only torch, transformers and peft exist.
"""
