"""The warehouse database: schema, migrations, bulk writes, repositories and metric builders."""
