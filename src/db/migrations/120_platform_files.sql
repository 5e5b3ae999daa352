-- Issue 17 (spec §9): the platform's file exchange. A 9101 upload (table 200, an institution's detail
-- of its settlements) and the result file of a 3202 (table 201, one line per differing settlement)
-- are kept here, bytes as received / as answered, so a 9102 gets exactly what was stored. Owned by
-- src/platform/ (file-store.ts). A file belongs to the institution that uploaded it: only a client
-- whose scope covers `fixmedins_code` may reconcile or download it.
CREATE TABLE platform_files (
  file_qury_no    text PRIMARY KEY,              -- 文件查询号, answered by 9101 / 3202
  kind            text NOT NULL CHECK (kind IN ('upload', 'result')),
  fixmedins_code  text NOT NULL,
  client_id       text NOT NULL,                 -- who uploaded it (or ran the 3202)
  filename        text NOT NULL,
  zipped          boolean NOT NULL,
  content         bytea NOT NULL,
  bytes           integer NOT NULL,
  sha256          text NOT NULL,
  row_count       integer NOT NULL,
  source_file     text REFERENCES platform_files (file_qury_no),  -- a result: the upload it reconciled
  statement       jsonb,                                           -- a result: the 3202's input.data and its counts
  created_at      timestamptz NOT NULL,
  dld_endtime     timestamptz NOT NULL           -- 下载截止时间: 9102 answers −1 after it
);
CREATE INDEX platform_files_fixmedins ON platform_files (fixmedins_code, created_at);
