"""LLM prompt templates (plain text), installed as the package data bot.prompts."""
