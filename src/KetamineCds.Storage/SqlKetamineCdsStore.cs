using System.Data.Common;
using System.Globalization;
using System.Text.Json;

namespace KetamineCds.Storage;

/// <summary>
/// The store over plain SQL that SQLite and PostgreSQL both accept (TEXT, BIGINT, INSERT ... ON CONFLICT DO NOTHING,
/// @name parameters), so the two backends differ only in how a connection is opened, locked and migrated. Times are
/// Unix milliseconds (UTC), exact and sortable in both; decimals travel inside the numbers JSON, which keeps them exact.
/// </summary>
public abstract class SqlKetamineCdsStore : IKetamineCdsStore
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// Migrations, in order; each runs once, in a transaction, recorded in schema_version. Both databases roll DDL back
    /// with the transaction, so an interrupted start-up leaves the previous version and simply starts again; statements
    /// are also written to be harmless if repeated where the SQL allows (IF NOT EXISTS). Add, never edit.
    /// </summary>
    protected static IReadOnlyList<string[]> Migrations { get; } =
    [
        [
            """
            CREATE TABLE IF NOT EXISTS card_ledger (
                card_uuid TEXT PRIMARY KEY,
                service_id TEXT NOT NULL,
                hook_instance TEXT NOT NULL,
                patient_hash TEXT NOT NULL,
                user_id TEXT NULL,
                finding TEXT NOT NULL,
                numbers_json TEXT NOT NULL,
                issued_at_ms BIGINT NOT NULL)
            """,
            "CREATE INDEX IF NOT EXISTS ix_card_ledger_patient_finding ON card_ledger (patient_hash, finding)",
            """
            CREATE TABLE IF NOT EXISTS feedback (
                card_uuid TEXT NOT NULL,
                outcome TEXT NOT NULL,
                outcome_ts_ms BIGINT NOT NULL,
                service_id TEXT NOT NULL,
                reason_system TEXT NULL,
                reason_code TEXT NULL,
                reason_display TEXT NULL,
                user_comment TEXT NULL,
                accepted_suggestions TEXT NOT NULL,
                client_issuer TEXT NULL,
                client_subject TEXT NULL,
                received_at_ms BIGINT NOT NULL,
                effective_at_ms BIGINT NOT NULL,
                PRIMARY KEY (card_uuid, outcome, outcome_ts_ms))
            """,
        ],

        // 2: the snooze and review look-ups start from the patient's feedback (few rows) instead of every card the
        // patient was ever shown (version 1 scanned card_ledger by (patient_hash, finding), so a look-up grew with the
        // patient's history). The card's patient and finding are copied onto its feedback: at receipt when the card is
        // known, else when the card's ledger row arrives (RecordAsync). The ledger index is dropped: no query reads the
        // ledger by patient any more, and every card written paid for it (one more random index page per row).
        [
            "ALTER TABLE feedback ADD COLUMN patient_hash TEXT NULL",
            "ALTER TABLE feedback ADD COLUMN finding TEXT NULL",
            """
            UPDATE feedback SET
                patient_hash = (SELECT c.patient_hash FROM card_ledger c WHERE c.card_uuid = feedback.card_uuid),
                finding = (SELECT c.finding FROM card_ledger c WHERE c.card_uuid = feedback.card_uuid)
            WHERE patient_hash IS NULL
            """,
            "CREATE INDEX IF NOT EXISTS ix_feedback_patient_finding ON feedback (patient_hash, finding, effective_at_ms)",
            "DROP INDEX IF EXISTS ix_card_ledger_patient_finding",
        ],
    ];

    public abstract string Provider { get; }

    /// <summary>Opens a connection ready for use (pragmas set for SQLite).</summary>
    protected abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>Opens a connection for reading only (SQLite: without the per-open durability pragmas a read does not need).</summary>
    protected virtual Task<DbConnection> OpenReadAsync(CancellationToken cancellationToken) => OpenAsync(cancellationToken);

    /// <summary>Serializes writers where the database would otherwise make them wait (SQLite: one writer at a time).</summary>
    protected virtual ValueTask<IDisposable?> EnterWriteAsync(CancellationToken cancellationToken) => ValueTask.FromResult<IDisposable?>(null);

    /// <summary>
    /// Run first in a ledger write (shared) and in a feedback write (exclusive) where writers can overlap (PostgreSQL):
    /// feedback saved while the ledger row of its card is being written would otherwise read "unknown card" and the
    /// ledger write would not yet see the feedback to link, leaving it unlinked. SQLite has one writer at a time.
    /// </summary>
    protected virtual string LedgerLinkLockSql => "";

    /// <inheritdoc cref="LedgerLinkLockSql"/>
    protected virtual string FeedbackLinkLockSql => "";

    /// <summary>Run first inside the migration transaction: takes a lock so that two instances never migrate at once.</summary>
    protected abstract string MigrationLockSql { get; }

    public virtual async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        using var gate = await EnterWriteAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (MigrationLockSql.Length > 0)
        {
            await ExecuteAsync(connection, transaction, MigrationLockSql, cancellationToken);
        }

        // Inside the locked transaction, so instances starting together do not race to create it.
        await ExecuteAsync(connection, transaction, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at_ms BIGINT NOT NULL)", cancellationToken);

        await using (var read = Command(connection, transaction, "SELECT COALESCE(MAX(version), 0) FROM schema_version"))
        {
            var current = Convert.ToInt32(await read.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
            for (var version = current + 1; version <= Migrations.Count; version++)
            {
                foreach (var statement in Migrations[version - 1])
                {
                    await ExecuteAsync(connection, transaction, statement, cancellationToken);
                }

                await using var record = Command(connection, transaction, "INSERT INTO schema_version (version, applied_at_ms) VALUES (@v, @t)",
                    ("v", version), ("t", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
                await record.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>The schema version in the database (for tests and operators).</summary>
    public async Task<int> SchemaVersionAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenReadAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT COALESCE(MAX(version), 0) FROM schema_version");
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    public async Task RecordAsync(IReadOnlyList<IssuedCard> cards, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cards);
        if (cards.Count == 0)
        {
            return;
        }

        await using var connection = await OpenAsync(cancellationToken);
        using var gate = await EnterWriteAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (connection.CanCreateBatch)
        {
            // PostgreSQL: the batch's inserts travel in one round trip (Npgsql pipelines a DbBatch), not one per card.
            await using var batch = connection.CreateBatch();
            batch.Transaction = transaction;
            if (LedgerLinkLockSql.Length > 0)
            {
                AddBatchCommand(batch, LedgerLinkLockSql, []);
            }

            foreach (var card in cards)
            {
                var values = CardValues(card);
                AddBatchCommand(batch, InsertCardSql, values);
                AddBatchCommand(batch, LinkFeedbackSql, values.AsSpan(0, LinkFeedbackParameters));
            }

            await batch.ExecuteNonQueryAsync(cancellationToken);
        }
        else
        {
            // SQLite (no DbBatch): one statement, parsed and prepared once, its parameters rebound for every card.
            var first = CardValues(cards[0]);
            await using var insert = Command(connection, transaction, InsertCardSql, first);
            await using var link = Command(connection, transaction, LinkFeedbackSql, first[..LinkFeedbackParameters]);
            await insert.PrepareAsync(cancellationToken);
            await link.PrepareAsync(cancellationToken);
            foreach (var card in cards)
            {
                var values = CardValues(card);
                for (var i = 0; i < values.Length; i++)
                {
                    insert.Parameters[i].Value = values[i].Value ?? DBNull.Value;
                    if (i < LinkFeedbackParameters)
                    {
                        link.Parameters[i].Value = values[i].Value ?? DBNull.Value;
                    }
                }

                // Only a card new to the ledger can have feedback waiting for it (feedback on a known card is linked at receipt).
                if (await insert.ExecuteNonQueryAsync(cancellationToken) == 1)
                {
                    await link.ExecuteNonQueryAsync(cancellationToken);
                }
            }
        }

        await transaction.CommitAsync(cancellationToken);
    }

    private const string InsertCardSql =
        """
        INSERT INTO card_ledger (card_uuid, service_id, hook_instance, patient_hash, user_id, finding, numbers_json, issued_at_ms)
        VALUES (@uuid, @service, @hook, @patient, @user, @finding, @numbers, @at)
        ON CONFLICT (card_uuid) DO NOTHING
        """;

    /// <summary>Feedback that arrived before its card: give it the card's patient and finding (an index probe when there is none).</summary>
    private const string LinkFeedbackSql =
        "UPDATE feedback SET patient_hash = @patient, finding = @finding WHERE card_uuid = @uuid AND patient_hash IS NULL";

    /// <summary>The first values of <see cref="CardValues"/> are the ones <see cref="LinkFeedbackSql"/> needs.</summary>
    private const int LinkFeedbackParameters = 3;

    private static (string Name, object? Value)[] CardValues(IssuedCard card) =>
    [
        ("uuid", Key(card.CardUuid)), ("patient", card.PatientHash), ("finding", card.Numbers.Finding),
        ("service", card.ServiceId), ("hook", card.HookInstance), ("user", card.UserId),
        ("numbers", JsonSerializer.Serialize(card.Numbers, StorageJson.Default.CardNumbers)), ("at", card.IssuedAt.ToUnixTimeMilliseconds()),
    ];

    private static void AddBatchCommand(DbBatch batch, string sql, ReadOnlySpan<(string Name, object? Value)> values)
    {
        var command = batch.CreateBatchCommand();
#pragma warning disable CA2100 // Every statement is a constant of this class; values travel only as parameters.
        command.CommandText = sql;
#pragma warning restore CA2100
        foreach (var (name, value) in values)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = "@" + name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        batch.BatchCommands.Add(command);
    }

    public async Task<IssuedCard?> FindCardAsync(Guid cardUuid, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReadAsync(cancellationToken);
        await using var command = Command(connection, null, $"SELECT {CardColumns} FROM card_ledger c WHERE c.card_uuid = @uuid", ("uuid", Key(cardUuid)));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadCard(reader, 0) : null;
    }

    public async Task<FeedbackWriteResult> SaveFeedbackAsync(IReadOnlyList<FeedbackItem> items, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count == 0)
        {
            return new FeedbackWriteResult(0, 0, 0);
        }

        int stored = 0, duplicates = 0, unknown = 0;
        await using var connection = await OpenAsync(cancellationToken);
        using var gate = await EnterWriteAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (FeedbackLinkLockSql.Length > 0)
        {
            await ExecuteAsync(connection, transaction, FeedbackLinkLockSql, cancellationToken);
        }

        foreach (var item in items)
        {
            string? patientHash = null, finding = null;
            await using (var known = Command(connection, transaction, "SELECT patient_hash, finding FROM card_ledger WHERE card_uuid = @uuid", ("uuid", Key(item.CardUuid))))
            await using (var reader = await known.ExecuteReaderAsync(cancellationToken))
            {
                if (await reader.ReadAsync(cancellationToken))
                {
                    patientHash = reader.GetString(0);
                    finding = reader.GetString(1);
                }
                else
                {
                    unknown++;
                }
            }

            var outcomeMs = item.OutcomeTimestamp.ToUnixTimeMilliseconds();
            var receivedMs = item.ReceivedAt.ToUnixTimeMilliseconds();
            await using var insert = Command(connection, transaction,
                """
                INSERT INTO feedback (card_uuid, outcome, outcome_ts_ms, service_id, reason_system, reason_code, reason_display, user_comment,
                                      accepted_suggestions, client_issuer, client_subject, received_at_ms, effective_at_ms, patient_hash, finding)
                VALUES (@uuid, @outcome, @ts, @service, @rsystem, @rcode, @rdisplay, @comment, @suggestions, @iss, @sub, @received, @effective, @patient, @finding)
                ON CONFLICT (card_uuid, outcome, outcome_ts_ms) DO NOTHING
                """,
                ("uuid", Key(item.CardUuid)), ("outcome", OutcomeText(item.Outcome)), ("ts", outcomeMs), ("service", item.ServiceId),
                ("rsystem", item.Reason?.System), ("rcode", item.Reason?.Code), ("rdisplay", item.Reason?.Display), ("comment", item.UserComment),
                ("suggestions", JsonSerializer.Serialize(item.AcceptedSuggestions, Json)), ("iss", item.ClientIssuer), ("sub", item.ClientSubject),
                ("received", receivedMs),
                // A snooze runs from when the override happened, never from a time in the future the client may claim.
                ("effective", Math.Min(outcomeMs, receivedMs)), ("patient", patientHash), ("finding", finding));
            if (await insert.ExecuteNonQueryAsync(cancellationToken) == 1)
            {
                stored++;
            }
            else
            {
                duplicates++;
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return new FeedbackWriteResult(stored, duplicates, unknown);
    }

    public async Task<IReadOnlyList<StoredFeedback>> FeedbackForCardAsync(Guid cardUuid, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReadAsync(cancellationToken);
        await using var command = Command(connection, null,
            $"""
            SELECT {FeedbackColumns}, {CardColumns}
            FROM feedback f LEFT JOIN card_ledger c ON c.card_uuid = f.card_uuid
            WHERE f.card_uuid = @uuid ORDER BY f.outcome_ts_ms, f.outcome
            """, ("uuid", Key(cardUuid)));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var result = new List<StoredFeedback>();
        while (await reader.ReadAsync(cancellationToken))
        {
            result.Add(new StoredFeedback(ReadFeedback(reader), reader.IsDBNull(FeedbackColumnCount) ? null : ReadCard(reader, FeedbackColumnCount)));
        }

        return result;
    }

    public async Task<IReadOnlyList<OverrideRecord>> OverridesAsync(string patientHash, string findingCode, string reasonSystem, DateTimeOffset since, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReadAsync(cancellationToken);
        await using var command = Command(connection, null,
            """
            SELECT f.card_uuid, c.numbers_json, f.reason_system, f.reason_code, f.reason_display, c.user_id, f.client_subject, f.client_issuer, f.effective_at_ms
            FROM feedback f JOIN card_ledger c ON c.card_uuid = f.card_uuid
            WHERE f.patient_hash = @patient AND f.finding = @finding AND f.outcome = 'overridden'
              AND f.reason_system = @system AND f.reason_code IS NOT NULL AND f.effective_at_ms >= @since
            ORDER BY f.effective_at_ms DESC
            LIMIT 50
            """,
            ("patient", patientHash), ("finding", findingCode), ("system", reasonSystem), ("since", since.ToUnixTimeMilliseconds()));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var result = new List<OverrideRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            result.Add(new OverrideRecord(
                Guid.Parse(reader.GetString(0)),
                Numbers(reader.GetString(1)),
                new ReasonCoding(reader.GetString(2), reader.GetString(3), Text(reader, 4)),
                UserOf(Text(reader, 5), Text(reader, 6), Text(reader, 7)),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(8))));
        }

        return result;
    }

    public async Task<FindingReview?> LatestAsync(string patientHash, string findingCode, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReadAsync(cancellationToken);
        await using var command = Command(connection, null,
            """
            SELECT f.outcome, f.reason_code, f.reason_display, c.user_id, f.client_subject, f.client_issuer, f.effective_at_ms
            FROM feedback f JOIN card_ledger c ON c.card_uuid = f.card_uuid
            WHERE f.patient_hash = @patient AND f.finding = @finding
            ORDER BY f.effective_at_ms DESC, f.outcome DESC
            LIMIT 1
            """,
            ("patient", patientHash), ("finding", findingCode));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new FindingReview(ParseOutcome(reader.GetString(0)), Text(reader, 1), Text(reader, 2),
            UserOf(Text(reader, 3), Text(reader, 4), Text(reader, 5)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)));
    }

    public async Task<StoreCounts> CountsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenReadAsync(cancellationToken);
        await using var command = Command(connection, null,
            """
            SELECT (SELECT COUNT(*) FROM card_ledger),
                   (SELECT COUNT(*) FROM feedback),
                   (SELECT COUNT(*) FROM feedback f WHERE NOT EXISTS (SELECT 1 FROM card_ledger c WHERE c.card_uuid = f.card_uuid))
            """);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new StoreCounts(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }

    /// <summary>
    /// Retention: deletes feedback received, and cards issued, before <paramref name="before"/> (a card is kept while
    /// feedback on it is kept). Returns the rows deleted.
    /// </summary>
    public async Task<int> DeleteOlderThanAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        using var gate = await EnterWriteAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var ms = before.ToUnixTimeMilliseconds();
        await using var feedback = Command(connection, transaction, "DELETE FROM feedback WHERE received_at_ms < @before", ("before", ms));
        var deleted = await feedback.ExecuteNonQueryAsync(cancellationToken);
        await using var cards = Command(connection, transaction,
            "DELETE FROM card_ledger WHERE issued_at_ms < @before AND NOT EXISTS (SELECT 1 FROM feedback f WHERE f.card_uuid = card_ledger.card_uuid)",
            ("before", ms));
        deleted += await cards.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return deleted;
    }

    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    private const string CardColumns = "c.card_uuid, c.service_id, c.hook_instance, c.patient_hash, c.user_id, c.numbers_json, c.issued_at_ms";

    private const string FeedbackColumns =
        "f.card_uuid, f.service_id, f.outcome, f.outcome_ts_ms, f.reason_system, f.reason_code, f.reason_display, f.user_comment, " +
        "f.accepted_suggestions, f.client_issuer, f.client_subject, f.received_at_ms";

    private const int FeedbackColumnCount = 12;

    private static IssuedCard ReadCard(DbDataReader reader, int at) => new(
        Guid.Parse(reader.GetString(at)),
        reader.GetString(at + 1),
        reader.GetString(at + 2),
        reader.GetString(at + 3),
        Text(reader, at + 4),
        Numbers(reader.GetString(at + 5)),
        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(at + 6)));

    private static FeedbackItem ReadFeedback(DbDataReader reader) => new(
        Guid.Parse(reader.GetString(0)),
        reader.GetString(1),
        ParseOutcome(reader.GetString(2)),
        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
        reader.IsDBNull(5) ? null : new ReasonCoding(Text(reader, 4) ?? "", reader.GetString(5), Text(reader, 6)),
        Text(reader, 7),
        JsonSerializer.Deserialize<List<string>>(reader.GetString(8), Json) ?? [],
        Text(reader, 9),
        Text(reader, 10),
        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(11)));

    private static CardNumbers Numbers(string json) =>
        JsonSerializer.Deserialize(json, StorageJson.Default.CardNumbers) ?? throw new InvalidDataException("card_ledger.numbers_json is empty.");

    /// <summary>Who reviewed: the clinician the card was shown to, else the CDS client that sent the feedback.</summary>
    private static string? UserOf(string? contextUser, string? subject, string? issuer) =>
        contextUser ?? (subject is not null && issuer is not null ? $"{subject} ({issuer})" : subject ?? issuer);

    private static string? Text(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static string Key(Guid uuid) => uuid.ToString("D");

    private static string OutcomeText(FeedbackOutcome outcome) => outcome == FeedbackOutcome.Accepted ? "accepted" : "overridden";

    private static FeedbackOutcome ParseOutcome(string text) => text == "accepted" ? FeedbackOutcome.Accepted : FeedbackOutcome.Overridden;

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, sql);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
#pragma warning disable CA2100 // Every statement is a constant of this class; values travel only as parameters.
        command.CommandText = sql;
#pragma warning restore CA2100
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = "@" + name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        return command;
    }
}
