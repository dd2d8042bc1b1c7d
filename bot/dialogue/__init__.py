"""Understanding and deciding: sessions, intents, entities, slots, answer policy."""
