namespace KetamineCds.Storage.Tests;

/// <summary>When an overridden finding stays quiet: the numbers now against the numbers of the card overridden.</summary>
public sealed class SnoozeRuleTests
{
    private static CardNumbers Benzo(decimal? total, params string[] ingredients) =>
        new() { Finding = "benzodiazepine-threshold", LorazepamEquivalentMgPerDay = total, Ingredients = ingredients };

    private static CardNumbers Lamotrigine(decimal? mg, string category) =>
        new() { Finding = "lamotrigine-concurrent", LamotrigineMgPerDay = mg, LamotrigineDoseCategory = category, Ingredients = ["lamotrigine"] };

    [Theory]
    [InlineData(4.0, 4.0, false)]   // the same total: the clinician has seen it
    [InlineData(6.0, 4.0, false)]   // lower: not worse
    [InlineData(4.0, 4.5, true)]    // higher: worse
    [InlineData(4.0, 4.01, true)]   // any rise counts: the threshold is judged on this number
    public void A_higher_primary_lorazepam_equivalent_total_ends_the_snooze(double before, double now, bool worse)
    {
        var changes = SnoozeRule.WorseSince(Benzo((decimal)before, "clonazepam"), Benzo((decimal)now, "clonazepam"));
        Assert.Equal(worse, changes.Count > 0);
    }

    [Fact]
    public void A_new_benzodiazepine_ends_the_snooze_even_at_the_same_total()
    {
        var changes = SnoozeRule.WorseSince(Benzo(4m, "clonazepam"), Benzo(4m, "clonazepam", "diazepam"));
        Assert.Contains(changes, c => c.Contains("diazepam", StringComparison.Ordinal));
    }

    [Fact]
    public void A_benzodiazepine_that_can_no_longer_be_dosed_ends_the_snooze()
    {
        var before = Benzo(4m, "clonazepam", "lorazepam");
        var now = before with { UncountedIngredients = ["lorazepam"], TotalExcludesUncounted = true, LorazepamEquivalentMgPerDay = 4m };
        Assert.NotEmpty(SnoozeRule.WorseSince(before, now));
    }

    [Fact]
    public void A_total_computed_where_none_was_ends_the_snooze()
    {
        Assert.NotEmpty(SnoozeRule.WorseSince(Benzo(null, "diazepam"), Benzo(5m, "diazepam")));
    }

    [Theory]
    [InlineData(50, "low", 75, "low", false)]          // a dose change within the category
    [InlineData(50, "low", 150, "standard", true)]     // low to standard dose
    [InlineData(150, "standard", null, "unknown", true)] // the dose can no longer be determined
    public void A_lamotrigine_dose_category_change_ends_the_snooze(int? beforeMg, string beforeCategory, int? nowMg, string nowCategory, bool worse)
    {
        var changes = SnoozeRule.WorseSince(Lamotrigine(beforeMg, beforeCategory), Lamotrigine(nowMg, nowCategory));
        Assert.Equal(worse, changes.Count > 0);
    }

    [Fact]
    public void More_unreadable_records_end_the_snooze()
    {
        Assert.NotEmpty(SnoozeRule.WorseSince(Benzo(4m, "clonazepam"), Benzo(4m, "clonazepam") with { UnreadableResources = 1 }));
    }

    [Fact]
    public void The_unreadable_data_card_is_never_snoozed()
    {
        Assert.Contains("patient-data-unreadable", SnoozeRule.NeverSnoozed);
    }

    [Fact]
    public void The_override_reasons_artifact_offers_no_reason_to_stop_taper_hold_or_reduce()
    {
        var path = Path.Combine(RepositoryRoot(), "fhir-profiles", OverrideReasonCatalog.FileName);
        var catalog = OverrideReasonCatalog.FromCodeSystemJson(File.ReadAllText(path));
        Assert.Equal("http://ketaminecds.org/fhir/CodeSystem/ketamine-cds-override-reason", catalog.System);
        Assert.Equal(["benefit-outweighs-risk", "dose-already-adjusted", "medication-list-out-of-date", "not-applicable"], catalog.All.Select(r => r.Code).Order());
        foreach (var reason in catalog.All)
        {
            foreach (var word in new[] { "stop", "taper", "hold", "reduc", "discontinu", "wean" })
            {
                Assert.DoesNotContain(word, reason.Display, StringComparison.OrdinalIgnoreCase);
            }
        }
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "KetamineCds.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new DirectoryNotFoundException("KetamineCds.sln not found above the test binaries");
    }
}
