using System.Security.Cryptography;
using KetamineCds.Review.Cli;
using KetamineCds.Storage;

namespace KetamineCds.Review.Tests;

/// <summary>The latest-feedback column read from the service's own SQLite feedback store (INTERFACES.md seam 7).</summary>
[Collection(ReviewCollection.Name)]
public sealed class FeedbackColumnTests
{
    [Fact]
    public async Task An_override_recorded_by_the_service_shows_as_the_latest_feedback_on_that_patients_finding()
    {
        using var export = new TempExport()
            .File("Patient.ndjson", Fhir.Patient("p1"), Fhir.Patient("p2"))
            .File("MedicationRequest.ndjson", Fhir.IvKetamine("k1", "p1"), Fhir.IvKetamine("k2", "p2"))
            .File("MedicationStatement.ndjson", Fhir.Clonazepam2mgBid("b1", "p1"), Fhir.Clonazepam2mgBid("b2", "p2"));
        var key = RandomNumberGenerator.GetBytes(32);
        var hasher = new PatientIdHasher(key);
        var db = Path.Combine(export.Root, "feedback.db");
        await using (var store = new SqliteKetamineCdsStore(db))
        {
            await store.InitializeAsync(CancellationToken.None);
            var card = Guid.NewGuid();
            var at = new DateTimeOffset(2026, 11, 20, 14, 3, 0, TimeSpan.Zero);
            await store.RecordAsync([new IssuedCard(card, "ketamine-order-sign", "h1", hasher.Hash("p1"), "Practitioner/ph-7",
                new CardNumbers { Finding = "benzodiazepine-threshold", LorazepamEquivalentMgPerDay = 16 }, at)], CancellationToken.None);
            await store.SaveFeedbackAsync([new FeedbackItem(card, "ketamine-order-sign", FeedbackOutcome.Overridden, at,
                new ReasonCoding("http://ketaminecds.org/fhir/CodeSystem/ketamine-cds-override-reason", "benefit-outweighs-risk", "Benefit outweighs risk, reviewed with patient"),
                null, [], "ehr", "client", at)], CancellationToken.None);
        }

        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await ReviewCommand.RunAsync(["review", export.Input, "--out", export.Output, "--no-validate", "--no-progress", "--as-of", "2026-12-01",
            "--feedback-db", db, "--patient-hash-key", Convert.ToBase64String(key)], stdout, stderr, CancellationToken.None);

        Assert.True(code == 0, stderr.ToString());
        using var rows = System.Text.Json.JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(export.Output, "rows.json")));
        Assert.Equal("overridden (Benefit outweighs risk, reviewed with patient) by Practitioner/ph-7, 2026-11-20 14:03 UTC",
            rows.RootElement[0].GetProperty("feedback").GetProperty("benzodiazepine-threshold").GetString());
        Assert.Equal("none", rows.RootElement[1].GetProperty("feedback").GetProperty("benzodiazepine-threshold").GetString());
    }

    [Fact]
    public async Task A_feedback_store_without_the_services_hash_key_is_refused_with_the_variable_to_set()
    {
        using var export = new TempExport().File("Patient.ndjson", Fhir.Patient("p1"));
        var db = Path.Combine(export.Root, "feedback.db");
        await File.WriteAllBytesAsync(db, []);
        var stderr = new StringWriter();
        var code = await ReviewCommand.RunAsync(["review", export.Input, "--out", export.Output, "--feedback-db", db], new StringWriter(), stderr, CancellationToken.None);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains(ReviewCommand.HashKeyVariable, stderr.ToString());
    }
}
