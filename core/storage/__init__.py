"""Storage: SQLAlchemy (async) on SQLite or PostgreSQL, with Alembic migrations.

database = Database(settings.database_url)
await database.upgrade()
store = ConversationStore(database)
"""

from core.storage.conversations import ConversationStore
from core.storage.db import Database, upgrade_sync
from core.storage.records import ConversationRecord, EventRecord

__all__ = ["ConversationRecord", "ConversationStore", "Database", "EventRecord", "upgrade_sync"]
