using System.Data.Common;
using Npgsql;

namespace KetamineCds.Storage;

/// <summary>
/// The shared store for several service instances: PostgreSQL through Npgsql. The schema is created or migrated on
/// start (schema_version table; each migration in one transaction under a transaction-scoped advisory lock, so
/// instances starting together migrate once). Commits are durable with the server's default synchronous_commit=on;
/// the service answers 200 only after COMMIT returns.
/// </summary>
public sealed class PostgresKetamineCdsStore(string connectionString) : SqlKetamineCdsStore
{
    // Any constant of our own; it names the "KetamineCds schema migration" lock in pg_locks.
    private const long MigrationLockKey = 0x4B65_7443_6473;

    private readonly NpgsqlDataSource dataSource = NpgsqlDataSource.Create(
        string.IsNullOrWhiteSpace(connectionString) ? throw new ArgumentException("A PostgreSQL connection string is required.", nameof(connectionString)) : connectionString);

    // Another constant of our own: ledger writes share it, feedback writes hold it alone (SqlKetamineCdsStore.LedgerLinkLockSql).
    private const long FeedbackLinkLockKey = 0x4B65_7446_6264;

    public override string Provider => "postgres";

    protected override string LedgerLinkLockSql => $"SELECT pg_advisory_xact_lock_shared({FeedbackLinkLockKey})";

    protected override string FeedbackLinkLockSql => $"SELECT pg_advisory_xact_lock({FeedbackLinkLockKey})";

    protected override string MigrationLockSql => $"SELECT pg_advisory_xact_lock({MigrationLockKey})";

    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await dataSource.OpenConnectionAsync(cancellationToken);

    public override async ValueTask DisposeAsync()
    {
        await dataSource.DisposeAsync();
        await base.DisposeAsync();
    }
}
