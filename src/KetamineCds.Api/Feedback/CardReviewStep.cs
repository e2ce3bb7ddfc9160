using System.Globalization;
using KetamineCds.Api.Cards;
using KetamineCds.Api.CdsHooks;
using KetamineCds.Clinical.Rules;
using KetamineCds.Storage;
using Microsoft.Extensions.Options;

namespace KetamineCds.Api.Feedback;

/// <summary>
/// The step after rendering (docs/rules/override-and-snooze.md): (a) quiets, at order-select/order-sign, a finding the
/// clinician overrode with one of our reasons within the snooze period unless its numbers got worse, and marks it as
/// reviewed at patient-view; (b) records every card it lets through in the ledger. It reads only the cards'
/// extension.ketaminecds and the store: the clinical library and the renderer know nothing of it.
/// </summary>
public sealed class CardReviewStep(
    IFeedbackStore store,
    CardLedgerWriter ledger,
    PatientIdHasher hasher,
    OverrideReasonCatalog reasons,
    IOptions<FeedbackStoreOptions> options,
    TimeProvider time,
    ILogger<CardReviewStep> logger)
{
    private readonly FeedbackStoreOptions settings = options.Value;

    public async Task<IReadOnlyList<Card>> ApplyAsync(CdsService service, string hookInstance, string patientId, string? userId,
        IReadOnlyList<Card> cards, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(cards);
        if (cards.Count == 0)
        {
            return cards;
        }

        var now = time.GetUtcNow();
        var patientHash = hasher.Hash(patientId);
        var shown = new List<Card>(cards.Count);
        // What the ledger records: every card shown, with the numbers computed once for the snooze check and the ledger.
        var issued = new List<IssuedCard>(cards.Count);
        List<string>? snoozed = null;
        var lookupFailed = false;
        foreach (var card in cards)
        {
            var numbers = card.Extension?.KetamineCds is { } extension ? NumbersOf(extension) : null;
            OverrideRecord? latest = null;
            if (numbers is not null && !lookupFailed && settings.SnoozeDays > 0 && !SnoozeRule.NeverSnoozed.Contains(numbers.Finding))
            {
                (latest, lookupFailed) = await LatestOverrideAsync(service, hookInstance, patientHash, numbers.Finding, now, cancellationToken);
            }

            Card? show;
            if (latest is null)
            {
                show = card;
            }
            else
            {
                var worse = SnoozeRule.WorseSince(latest.Numbers, numbers!);
                show = service.Kind == HookKind.PatientView ? MarkReviewed(card, latest, worse)
                    : worse.Count > 0 ? card
                    : null;
            }

            if (show is null)
            {
                (snoozed ??= []).Add(numbers!.Finding);
                continue;
            }

            shown.Add(show);
            if (numbers is not null && Guid.TryParse(show.Uuid, out var uuid))
            {
                issued.Add(new IssuedCard(uuid, service.Descriptor.Id, hookInstance, patientHash, userId, numbers, now));
            }
        }

        if (snoozed is not null)
        {
            FeedbackLog.Snoozed(logger, service.Descriptor.Id, hookInstance, string.Join(",", snoozed));
        }

        ledger.Enqueue(issued);
        return shown;
    }

    /// <summary>The newest override with one of our reasons inside the snooze period; null when none or when the store cannot answer in time.</summary>
    private async Task<(OverrideRecord? Latest, bool Failed)> LatestOverrideAsync(CdsService service, string hookInstance, string patientHash, string finding,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        var since = now.AddDays(-settings.SnoozeDays);
        if (store is OverrideLookupCache cache && cache.KnownToHaveNone(patientHash, finding, reasons.System, since))
        {
            // Remembered "no override" (the common case): no linked token source and deadline timer for a look-up that is not made.
            return (null, false);
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(settings.SnoozeLookupTimeoutMs);
        try
        {
            var overrides = await store.OverridesAsync(patientHash, finding, reasons.System, since, deadline.Token);
            return (overrides.Count > 0 ? overrides[0] : null, false);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            // Fail open: without the store the cards are shown as if never overridden (an alert too many, never one too few).
            FeedbackLog.SnoozeLookupFailed(logger, service.Descriptor.Id, hookInstance, e.GetType().Name);
            return (null, true);
        }
    }

    private Card MarkReviewed(Card card, OverrideRecord review, IReadOnlyList<string> worse)
    {
        var display = reasons.Find(review.Reason.Code)?.Display ?? review.Reason.Display ?? review.Reason.Code;
        var line = $"**Reviewed:** overridden by {Markdown.Escape(review.User ?? "an unidentified user")} on " +
                   $"{review.At.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)} — {Markdown.Escape(display)}.";
        if (worse.Count > 0)
        {
            line += $" Since then: {Markdown.Escape(string.Join("; ", worse))}.";
        }

        return card with { Detail = string.IsNullOrEmpty(card.Detail) ? line : line + "\n\n" + card.Detail };
    }

    /// <summary>The numbers of a card, from its extension (INTERFACES.md seam 4).</summary>
    public static CardNumbers NumbersOf(KetamineCdsExtension extension)
    {
        ArgumentNullException.ThrowIfNull(extension);
        var lines = extension.Medications ?? [];
        return new CardNumbers
        {
            Finding = extension.Finding,
            LorazepamEquivalentMgPerDay = extension.LorazepamEquivalentMgPerDay,
            LorazepamEquivalentMgPerDayAlternate = extension.LorazepamEquivalentMgPerDayAlternate,
            TotalExcludesUncounted = extension.TotalExcludesUncountedMedications == true,
            LamotrigineMgPerDay = extension.LamotrigineMgPerDay,
            LamotrigineDoseCategory = extension.LamotrigineDoseCategory,
            Ingredients = SortedDistinctIngredients(lines, uncountedOnly: false),
            UncountedIngredients = SortedDistinctIngredients(lines, uncountedOnly: true),
            UnreadableResources = extension.UnreadableResources ?? 0,
        };
    }

    /// <summary>The lines' ingredient codes, distinct and in ordinal order (a card has a handful: no LINQ pipeline per card).</summary>
    private static List<string> SortedDistinctIngredients(IReadOnlyList<MedicationLine> lines, bool uncountedOnly)
    {
        var codes = new List<string>(lines.Count);
        foreach (var line in lines)
        {
            if (!uncountedOnly || line.Counted == false)
            {
                codes.Add(line.Ingredient);
            }
        }

        codes.Sort(StringComparer.Ordinal);
        for (var i = codes.Count - 1; i > 0; i--)
        {
            if (string.Equals(codes[i], codes[i - 1], StringComparison.Ordinal))
            {
                codes.RemoveAt(i);
            }
        }

        return codes;
    }
}
