using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace KetamineCds.Storage;

/// <summary>
/// The embedded default: one SQLite file, created on first use with no setup.
/// <para>Journal: WAL (readers never block the writer; a crash leaves the database consistent). Durability:
/// <c>synchronous=FULL</c>: in WAL mode, NORMAL syncs only at checkpoints, so the last commits can be lost on power
/// loss or an OS crash even though they survive a killed process; FULL syncs the WAL on every commit, so a 200 is
/// only sent for a write that is on disk (sqlite.org/pragma.html#pragma_synchronous, sqlite.org/wal.html). Feedback is
/// a few writes a minute and ledger rows are written in batches, so the cost of one sync per commit is small.</para>
/// <para>SQLite allows one writer at a time; writes in this process queue on a semaphore rather than spin on
/// SQLITE_BUSY. Several service instances need PostgreSQL (a SQLite file on a network share is not safe).</para>
/// </summary>
public sealed class SqliteKetamineCdsStore : SqlKetamineCdsStore
{
    private readonly string connectionString;
    private readonly SemaphoreSlim writer = new(1, 1);

    public SqliteKetamineCdsStore(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
        connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    public string Path { get; }

    public override string Provider => "sqlite";

    protected override string MigrationLockSql => "";

    public override async Task InitializeAsync(CancellationToken cancellationToken)
    {
        if (System.IO.Path.GetDirectoryName(Path) is { Length: > 0 } directory)
        {
            Directory.CreateDirectory(directory);
        }

        // WAL is a property of the database file: set once, it stays.
        await using (var connection = await OpenAsync(cancellationToken))
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "PRAGMA journal_mode=WAL";
            var mode = (string?)await command.ExecuteScalarAsync(cancellationToken);
            if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException($"SQLite at {Path} refused WAL mode (journal_mode={mode}).");
            }
        }

        await base.InitializeAsync(cancellationToken);
    }

    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            // Per connection (pooled connections keep them, setting again is cheap).
            command.CommandText = "PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000;";
            await command.ExecuteNonQueryAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Reads skip the pragmas: synchronous only matters to commits (every write opens through <see cref="OpenAsync"/>,
    /// which sets it again on the pooled handle), and a reader in WAL mode does not wait for the writer; the rare
    /// SQLITE_BUSY (a checkpoint, recovery) is retried by Microsoft.Data.Sqlite for up to DefaultTimeout (30 s).
    /// Saves one statement parse and execution per snooze look-up.
    /// </summary>
    protected override async Task<DbConnection> OpenReadAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    protected override async ValueTask<IDisposable?> EnterWriteAsync(CancellationToken cancellationToken)
    {
        await writer.WaitAsync(cancellationToken);
        return new Release(writer);
    }

    public override async ValueTask DisposeAsync()
    {
        writer.Dispose();
        // Pooled handles keep the file open (and the -wal/-shm files present) until cleared.
        SqliteConnection.ClearAllPools();
        await base.DisposeAsync();
    }

    private sealed class Release(SemaphoreSlim semaphore) : IDisposable
    {
        public void Dispose() => semaphore.Release();
    }
}
