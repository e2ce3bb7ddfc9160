using System.ComponentModel.DataAnnotations;

namespace KetamineCds.Api.Feedback;

/// <summary>Where feedback and the card ledger are kept, and the snooze rule's period (docs/feedback-store.md).</summary>
public sealed class FeedbackStoreOptions
{
    public const string Section = "KetamineCds:Storage";

    /// <summary>"sqlite" (embedded default, no setup) or "postgres" (several instances; needs PostgresConnectionString).</summary>
    [RegularExpression("^(sqlite|postgres)$", ErrorMessage = "KetamineCds:Storage:Provider must be 'sqlite' or 'postgres'.")]
    public string Provider { get; set; } = "sqlite";

    /// <summary>The SQLite file; relative paths are under the content root. Created on first use.</summary>
    public string SqlitePath { get; set; } = "data/ketaminecds.db";

    public string? PostgresConnectionString { get; set; }

    /// <summary>Keep overrideReason.userComment (free text a clinician typed). Off by default; never logged either way.</summary>
    public bool StoreUserComments { get; set; }

    /// <summary>
    /// Days an override with a reason quiets the same finding for the same patient at order-select/order-sign.
    /// 90 as the CDC opioid CDS's "snooze-3-months"; 0 turns the snooze off (cards are still recorded).
    /// </summary>
    [Range(0, 3650)]
    public int SnoozeDays { get; set; } = 90;

    /// <summary>How long a hook call may wait for the snooze look-up before it shows the cards unfiltered.</summary>
    [Range(10, 10_000)]
    public int SnoozeLookupTimeoutMs { get; set; } = 500;

    /// <summary>
    /// Seconds this instance remembers that a patient's finding has no override (so the snooze look-up is not repeated
    /// on every call); 0 turns the cache off. Only "no override" is remembered: a stale entry can only show an alert
    /// another instance's override would have snoozed, never hide one (docs/feedback-store.md, "Snooze look-up cache").
    /// </summary>
    [Range(0, 3600)]
    public int SnoozeCacheSeconds { get; set; } = 30;

    /// <summary>At most this many (patient, finding) entries in the snooze look-up cache; a full cache stops adding.</summary>
    [Range(100, 10_000_000)]
    public int SnoozeCacheMaxEntries { get; set; } = 100_000;

    /// <summary>Cards waiting to be written to the ledger; beyond this, cards are answered but not recorded (and counted).</summary>
    [Range(100, 1_000_000)]
    public int LedgerQueueCapacity { get; set; } = 10_000;

    /// <summary>
    /// Milliseconds the ledger writer lets cards gather after the first one arrives before it commits them in one
    /// transaction (one sync), unless 256 are waiting or a feedback post asks for a flush; 0 commits at once. Under load
    /// this bounds the ledger's commits to about 1000 / LedgerBatchWindowMs a second instead of one per hook call.
    /// </summary>
    [Range(0, 1000)]
    public int LedgerBatchWindowMs { get; set; } = 50;

    /// <summary>Delete feedback and cards older than this many days (checked daily); 0 keeps them (the site's retention policy decides).</summary>
    [Range(0, 36_500)]
    public int RetentionDays { get; set; }
}
