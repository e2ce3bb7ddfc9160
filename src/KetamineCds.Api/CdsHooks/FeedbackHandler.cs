using System.Globalization;
using System.Text.Json;
using KetamineCds.Api.Feedback;
using KetamineCds.Api.Infrastructure;
using KetamineCds.Storage;
using Microsoft.Extensions.Options;

namespace KetamineCds.Api.CdsHooks;

/// <summary>
/// CDS Hooks 2.0 feedback (POST /cds-services/{id}/feedback): whether clinicians accepted or overrode our cards, kept
/// durably and joined to the card ledger (docs/feedback-store.md).
/// <list type="bullet">
/// <item>The whole body is validated first; any invalid item refuses the post (400, OperationOutcome) and stores nothing.</item>
/// <item>The items are then written in one transaction; 200 is answered only after it committed (durable). A store
/// that cannot be written answers 503 with Retry-After, never 500: the client may send the same body again.</item>
/// <item>Idempotent: the spec says a service "may receive feedback for the same card instance multiple times"; the
/// same card, outcome and outcomeTimestamp is one user action, so a retry or replay is not stored or counted twice,
/// while a later action on the same card (a new timestamp) is its own row.</item>
/// <item>An unknown card uuid (not, or not yet, in the ledger) is accepted and kept; it joins its card if the ledger
/// row arrives later. The spec defines no error for it, and refusing would make the client retry what cannot succeed.</item>
/// <item><c>overrideReason.reason</c> from our CodeSystem must be one of its codes; a reason from another system (the
/// spec lets the client offer its own) is kept as sent but never snoozes a card. <c>userComment</c> is kept only when
/// the site enables it, and never logged.</item>
/// </list>
/// </summary>
public sealed class FeedbackHandler(
    JsonRequestReader reader,
    IFeedbackStore store,
    CardLedgerWriter ledger,
    OverrideReasonCatalog reasons,
    IOptions<FeedbackStoreOptions> options,
    TimeProvider time,
    ILogger<FeedbackHandler> logger)
{
    private const int MaxItems = 500;
    private const int MaxCommentLength = 2000;

    public async Task<IResult> HandleAsync(string serviceId, HttpContext http, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (CdsServiceCatalog.Find(serviceId) is null)
        {
            return Refuse(serviceId, new RequestError(StatusCodes.Status404NotFound, "not-found", $"No CDS service '{serviceId}'."));
        }

        var (document, error) = await reader.ReadAsync(http, "feedback", cancellationToken);
        if (error is not null)
        {
            return Refuse(serviceId, error);
        }

        List<FeedbackItem> items;
        using (document)
        {
            var authenticated = http.User.Identity?.IsAuthenticated == true;
            var issuer = authenticated ? http.User.FindFirst("iss")?.Value : null;
            var subject = authenticated ? http.User.FindFirst("sub")?.Value : null;
            (items, error) = Parse(document!.RootElement, serviceId, issuer, subject, time.GetUtcNow());
            if (error is not null)
            {
                return Refuse(serviceId, error);
            }
        }

        try
        {
            // A card answered moments ago may still be queued for the ledger: let it land first, so its feedback joins
            // at once (the join is also made at read time, so this only matters for a snooze decided right now).
            await ledger.FlushAsync(TimeSpan.FromSeconds(2), cancellationToken);
            var result = await store.SaveFeedbackAsync(items, cancellationToken);
            FeedbackLog.FeedbackStored(logger, serviceId, items.Count, result.Stored, result.Duplicates, result.UnknownCards,
                items.Count(i => i.Outcome == FeedbackOutcome.Accepted), items.Count(i => i.Outcome == FeedbackOutcome.Overridden));
            return TypedResults.Ok();
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            FeedbackLog.FeedbackStoreFailed(logger, serviceId, items.Count, e.GetType().Name);
            http.Response.Headers.RetryAfter = "5";
            return OperationOutcomes.Result(StatusCodes.Status503ServiceUnavailable, "transient",
                "The feedback could not be stored just now; nothing was kept. Send the same feedback again.");
        }
    }

    private (List<FeedbackItem> Items, RequestError? Error) Parse(JsonElement root, string serviceId, string? issuer, string? subject, DateTimeOffset receivedAt)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("feedback", out var array) || array.ValueKind != JsonValueKind.Array)
        {
            return ([], Invalid("'feedback' is required and must be an array."));
        }

        if (array.GetArrayLength() > MaxItems)
        {
            return ([], Invalid($"At most {MaxItems} feedback items per request."));
        }

        var items = new List<FeedbackItem>();
        var index = 0;
        foreach (var item in array.EnumerateArray())
        {
            var at = $"feedback[{index++}]";
            if (item.ValueKind != JsonValueKind.Object
                || !item.TryGetProperty("card", out var card) || card.ValueKind != JsonValueKind.String || !Guid.TryParse(card.GetString(), out var cardUuid)
                || !item.TryGetProperty("outcome", out var outcome) || outcome.ValueKind != JsonValueKind.String
                || !item.TryGetProperty("outcomeTimestamp", out var timestamp) || timestamp.ValueKind != JsonValueKind.String)
            {
                return ([], Invalid($"{at}: each feedback item needs 'card' (the card's uuid), 'outcome' and 'outcomeTimestamp'."));
            }

            FeedbackOutcome kind;
            switch (outcome.GetString())
            {
                case "accepted":
                    kind = FeedbackOutcome.Accepted;
                    break;
                case "overridden":
                    kind = FeedbackOutcome.Overridden;
                    break;
                default:
                    return ([], Invalid($"{at}: 'outcome' must be 'accepted' or 'overridden'."));
            }

            // "ISO timestamp in UTC"; a time without an offset is taken as UTC, as the spec says it is.
            if (!DateTimeOffset.TryParse(timestamp.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var outcomeTime)
                || !timestamp.GetString()!.Contains('T', StringComparison.Ordinal))
            {
                return ([], Invalid($"{at}: 'outcomeTimestamp' must be an ISO 8601 date-time in UTC, e.g. 2026-11-27T09:00:00Z."));
            }

            var suggestions = new List<string>();
            if (item.TryGetProperty("acceptedSuggestions", out var accepted) && accepted.ValueKind != JsonValueKind.Null)
            {
                if (accepted.ValueKind != JsonValueKind.Array
                    || accepted.EnumerateArray().Any(s => s.ValueKind != JsonValueKind.Object || !s.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.String))
                {
                    return ([], Invalid($"{at}: 'acceptedSuggestions' must be an array of objects with a string 'id'."));
                }

                suggestions.AddRange(accepted.EnumerateArray().Select(s => s.GetProperty("id").GetString()!));
            }

            ReasonCoding? reason = null;
            string? comment = null;
            if (item.TryGetProperty("overrideReason", out var overrideReason) && overrideReason.ValueKind != JsonValueKind.Null)
            {
                if (overrideReason.ValueKind != JsonValueKind.Object)
                {
                    return ([], Invalid($"{at}: 'overrideReason' must be an object with 'reason' (a Coding) and/or 'userComment'."));
                }

                if (overrideReason.TryGetProperty("reason", out var coding) && coding.ValueKind != JsonValueKind.Null)
                {
                    if (coding.ValueKind != JsonValueKind.Object
                        || !coding.TryGetProperty("code", out var code) || code.ValueKind != JsonValueKind.String || code.GetString()!.Length == 0
                        || !coding.TryGetProperty("system", out var system) || system.ValueKind != JsonValueKind.String || system.GetString()!.Length == 0)
                    {
                        return ([], Invalid($"{at}: 'overrideReason.reason' must be a Coding with 'code' and 'system'."));
                    }

                    if (system.GetString() == reasons.System)
                    {
                        if (reasons.Find(code.GetString()!) is not { } known)
                        {
                            // The posted code is not echoed: refusals are logged, and a code field can carry any text.
                            return ([], Invalid($"{at}: 'overrideReason.reason.code' is not an override reason of {reasons.System}; " +
                                                $"the codes are: {string.Join(", ", reasons.All.Select(r => r.Code))}."));
                        }

                        // Our display, not the client's copy of it.
                        reason = new ReasonCoding(reasons.System, known.Code, known.Display);
                    }
                    else
                    {
                        var display = coding.TryGetProperty("display", out var d) && d.ValueKind == JsonValueKind.String ? Truncate(d.GetString()!, 200) : null;
                        reason = new ReasonCoding(Truncate(system.GetString()!, 500), Truncate(code.GetString()!, 200), display);
                    }
                }

                if (overrideReason.TryGetProperty("userComment", out var userComment) && userComment.ValueKind != JsonValueKind.Null)
                {
                    if (userComment.ValueKind != JsonValueKind.String)
                    {
                        return ([], Invalid($"{at}: 'overrideReason.userComment' must be a string."));
                    }

                    comment = options.Value.StoreUserComments ? Truncate(userComment.GetString()!, MaxCommentLength) : null;
                }
            }

            items.Add(new FeedbackItem(cardUuid, serviceId, kind, outcomeTime, reason, comment, suggestions, issuer, subject, receivedAt));
        }

        return (items, null);
    }

    private static RequestError Invalid(string message) => new(StatusCodes.Status400BadRequest, "invalid", message);

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max];

    private IResult Refuse(string serviceId, RequestError error) => OperationOutcomes.Refuse(logger, serviceId, error);
}
