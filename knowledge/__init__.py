"""Knowledge base: loaders, chunking, embeddings, ChromaDB store, hybrid retrieval, reload."""
