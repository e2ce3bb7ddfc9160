using System.Globalization;
using KetamineCds.Storage;

namespace KetamineCds.Review;

/// <summary>
/// The latest feedback on a finding, read from the service's feedback store (SQLite file or PostgreSQL; INTERFACES.md
/// seam 7). The store keys patients by the service's keyed hash, so the review needs the same key
/// (KetamineCds:Security:Audit:PatientIdHashKey) to find a patient's cards; without it nothing would match.
/// </summary>
public sealed class StoreFeedbackLookup(IFindingReviewStore store, PatientIdHasher hasher) : IFindingFeedbackLookup
{
    public async Task<string?> LatestAsync(string patientId, string findingCode, CancellationToken cancellationToken)
    {
        var review = await store.LatestAsync(hasher.Hash(patientId), findingCode, cancellationToken);
        if (review is null)
        {
            return null;
        }

        var outcome = review.Outcome == FeedbackOutcome.Overridden ? "overridden" : "accepted";
        var reason = review.ReasonDisplay ?? review.ReasonCode;
        return string.Create(CultureInfo.InvariantCulture,
            $"{outcome}{(reason is null ? "" : $" ({reason})")}{(review.User is null ? "" : $" by {review.User}")}, {review.At.UtcDateTime:yyyy-MM-dd HH:mm} UTC");
    }

    /// <summary>Opens the store named on the command line; the key is base64 of at least 32 bytes, as the service requires.</summary>
    public static async Task<(StoreFeedbackLookup Lookup, IKetamineCdsStore Store)> OpenAsync(string? sqlitePath, string? postgres, string base64Key, CancellationToken cancellationToken)
    {
        byte[] key;
        try
        {
            key = Convert.FromBase64String(base64Key);
        }
        catch (FormatException)
        {
            throw new ReviewInputException("the patient id hash key is not base64.");
        }

        if (key.Length < 32)
        {
            throw new ReviewInputException("the patient id hash key must be at least 32 bytes (base64), the service's KetamineCds:Security:Audit:PatientIdHashKey.");
        }

        IKetamineCdsStore store = sqlitePath is not null ? new SqliteKetamineCdsStore(sqlitePath) : new PostgresKetamineCdsStore(postgres!);
        await store.InitializeAsync(cancellationToken);
        return (new StoreFeedbackLookup(store, new PatientIdHasher(key)), store);
    }
}
