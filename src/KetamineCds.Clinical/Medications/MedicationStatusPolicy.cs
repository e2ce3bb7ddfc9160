namespace KetamineCds.Clinical.Medications;

/// <summary>
/// Which entries count as current therapy. MedicationStatement: active, intended, on-hold.
/// MedicationRequest: active, on-hold, any intent (a reported "plan" counts too). Draft orders count: they are being
/// ordered now. Stopped, completed, cancelled, entered-in-error, not-taken and unknown never count, nor does an entry
/// whose effective period or timing bounds ended before now.
/// </summary>
public static class MedicationStatusPolicy
{
    private static readonly HashSet<string> ActiveStatements = new(StringComparer.OrdinalIgnoreCase) { "active", "intended", "on-hold" };
    private static readonly HashSet<string> ActiveRequests = new(StringComparer.OrdinalIgnoreCase) { "active", "on-hold" };
    private static readonly HashSet<string> DraftOrders = new(StringComparer.OrdinalIgnoreCase) { "draft", "active", "on-hold" };

    public static bool IsCurrent(MedicationFact fact, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(fact);
        var statusCounts = fact.Source switch
        {
            MedicationSource.Statement => ActiveStatements.Contains(fact.Status),
            MedicationSource.Request => ActiveRequests.Contains(fact.Status),
            MedicationSource.DraftOrder => DraftOrders.Contains(fact.Status),
            _ => false,
        };
        if (!statusCounts)
        {
            return false;
        }

        if (fact.EffectiveEnd is { } end && end < now)
        {
            return false;
        }

        // Every dosage line bounded and all bounds over: the therapy has ended.
        var dosages = fact.Dosages;
        if (dosages.Count == 0)
        {
            return true;
        }

        for (var i = 0; i < dosages.Count; i++)
        {
            if (dosages[i].Timing?.BoundsEnd is not { } bound || bound >= now)
            {
                return true;
            }
        }

        return false;
    }
}
