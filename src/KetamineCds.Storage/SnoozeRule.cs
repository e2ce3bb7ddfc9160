using System.Globalization;

namespace KetamineCds.Storage;

/// <summary>
/// When an overridden finding may stay quiet: the card's numbers now compared with the numbers of the card the
/// clinician overrode (docs/rules/override-and-snooze.md). Any change for the worse ends the snooze. Pure: no store,
/// no clock; the numbers are the card's own (extension.ketaminecds), never recomputed.
/// </summary>
public static class SnoozeRule
{
    /// <summary>
    /// Findings that are never snoozed: an unreadable record may hide a lamotrigine or benzodiazepine the rules could
    /// not see, so saying so again is the only safe answer (no silent false negatives).
    /// </summary>
    public static IReadOnlySet<string> NeverSnoozed { get; } = new HashSet<string>(StringComparer.Ordinal) { "patient-data-unreadable" };

    /// <summary>What got worse since the override, in words for the card (empty: nothing did).</summary>
    public static IReadOnlyList<string> WorseSince(CardNumbers overridden, CardNumbers now)
    {
        ArgumentNullException.ThrowIfNull(overridden);
        ArgumentNullException.ThrowIfNull(now);
        var changes = new List<string>();

        // The primary-table total is the number the threshold is judged on (benzodiazepine-threshold rule page).
        if (now.LorazepamEquivalentMgPerDay is { } total
            && (overridden.LorazepamEquivalentMgPerDay is not { } before || total > before))
        {
            changes.Add(overridden.LorazepamEquivalentMgPerDay is { } was
                ? $"lorazepam-equivalent total rose from {N(was)} to {N(total)} mg/day"
                : $"a lorazepam-equivalent total of {N(total)} mg/day is now computed");
        }

        var added = now.Ingredients.Except(overridden.Ingredients, StringComparer.Ordinal).ToList();
        if (added.Count > 0)
        {
            changes.Add($"new medication ingredient(s): {string.Join(", ", added)}");
        }

        // A benzodiazepine that was counted and now cannot be dosed makes the total a partial one: not the total reviewed.
        var newlyUncounted = now.UncountedIngredients.Except(overridden.UncountedIngredients, StringComparer.Ordinal).Except(added, StringComparer.Ordinal).ToList();
        if (newlyUncounted.Count > 0)
        {
            changes.Add($"dose no longer determinable for: {string.Join(", ", newlyUncounted)}");
        }

        if (!string.Equals(now.LamotrigineDoseCategory, overridden.LamotrigineDoseCategory, StringComparison.OrdinalIgnoreCase))
        {
            changes.Add($"lamotrigine dose category changed from {overridden.LamotrigineDoseCategory ?? "none"} to {now.LamotrigineDoseCategory ?? "none"}");
        }

        if (now.UnreadableResources > overridden.UnreadableResources)
        {
            changes.Add($"unreadable records rose from {overridden.UnreadableResources} to {now.UnreadableResources}");
        }

        return changes;
    }

    private static string N(decimal value) => value.ToString("0.##", CultureInfo.InvariantCulture);
}
