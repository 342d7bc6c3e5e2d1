-- The schema llm's embeddings migrations leave (llm/embeddings_migrations.py, m001 to m005),
-- for the tests of `vstore index --llm-db` (tests/test_inputs.cpp, tests/cli/test_collections.sh).
CREATE TABLE [collections] (
   [id] INTEGER PRIMARY KEY,
   [name] TEXT,
   [model] TEXT
);
CREATE UNIQUE INDEX [idx_collections_name] ON [collections] ([name]);
CREATE TABLE "embeddings" (
   [collection_id] INTEGER REFERENCES [collections]([id]),
   [id] TEXT,
   [embedding] BLOB,
   [content] TEXT,
   [content_blob] BLOB,
   [content_hash] BLOB,
   [metadata] TEXT,
   [updated] INTEGER,
   PRIMARY KEY ([collection_id], [id])
);
CREATE INDEX [idx_embeddings_content_hash] ON [embeddings] ([content_hash]);
