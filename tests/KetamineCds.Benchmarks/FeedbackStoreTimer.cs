using System.Diagnostics;
using KetamineCds.Api.CdsHooks;
using KetamineCds.Api.Feedback;
using KetamineCds.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace KetamineCds.Benchmarks;

/// <summary>
/// The feedback store's per-call work in this process, against a temp SQLite file (WAL, synchronous=FULL) holding a
/// ledger of 100,000 cards over 1,000 patients (50 per patient and finding) with overrides for 5% of the patients:
/// (1) ledger writes in the writer's batches of 256; (2) the snooze step (look-up for two cards, then queueing them for
/// the ledger) at order-sign, patients in rotation, ledger writer running (flushed every 1,000 calls so none is dropped),
/// CPU of the whole process per call.
/// </summary>
public static class FeedbackStoreTimer
{
    private const int Patients = 1_000;
    private const int RowsPerPatientAndFinding = 50;
    private static readonly string[] Findings = ["benzodiazepine-threshold", "lamotrigine-concurrent"];
    private const string Reasons = "http://ketaminecds.org/fhir/CodeSystem/ketamine-cds-override-reason";

    public static void Run(int calls, int cacheSeconds) => RunAsync(calls, cacheSeconds).GetAwaiter().GetResult();

    private static async Task RunAsync(int calls, int cacheSeconds)
    {
        var directory = Path.Combine(Path.GetTempPath(), "kcds-feedback-bench-" + Guid.NewGuid().ToString("N")[..8]);
        var hasher = new PatientIdHasher(new byte[32]);
        var store = new SqliteKetamineCdsStore(Path.Combine(directory, "bench.db"));
        try
        {
            await store.InitializeAsync(CancellationToken.None);
            var at = DateTimeOffset.UtcNow.AddDays(-1);

            // Seed the ledger in batches of 256 (the writer's batch), timed: the write cost per row.
            var seed = new List<IssuedCard>(Patients * Findings.Length * RowsPerPatientAndFinding);
            for (var round = 0; round < RowsPerPatientAndFinding; round++)
            {
                for (var p = 0; p < Patients; p++)
                {
                    foreach (var finding in Findings)
                    {
                        seed.Add(Issued(hasher.Hash($"bench-patient-{p}"), finding, at.AddSeconds(round)));
                    }
                }
            }

            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var started = Stopwatch.GetTimestamp();
            foreach (var chunk in seed.Chunk(256))
            {
                await store.RecordAsync(chunk, CancellationToken.None);
            }

            var wall = Stopwatch.GetElapsedTime(started);
            cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
            Console.WriteLine($"ledger write: {seed.Count:N0} rows in batches of 256: {wall.TotalMilliseconds * 1000 / seed.Count:F1} us/row wall, " +
                              $"{cpu.TotalMilliseconds * 1000 / seed.Count:F1} us/row CPU");

            // Overrides with our reason on one card of every 20th patient's benzodiazepine finding.
            var overrides = seed.Where((c, i) => c.Numbers.Finding == Findings[0] && i < Patients * Findings.Length && i / Findings.Length % 20 == 0)
                .Select(c => new FeedbackItem(c.CardUuid, c.ServiceId, FeedbackOutcome.Overridden, at.AddMinutes(1),
                    new ReasonCoding(Reasons, "benefit-outweighs-risk", null), null, [], "https://ehr.example", "client", at.AddMinutes(1)))
                .ToList();
            await store.SaveFeedbackAsync(overrides, CancellationToken.None);

            var settings = new FeedbackStoreOptions { SnoozeCacheSeconds = cacheSeconds };
            var options = Options.Create(settings);
            var lookup = FeedbackServices.OverrideLookup(store, settings, TimeProvider.System);
            var reasons = OverrideReasonCatalog.FromCodeSystemJson(File.ReadAllText(FindProfile(OverrideReasonCatalog.FileName)));
            var writer = new CardLedgerWriter(store, options, NullLogger<CardLedgerWriter>.Instance);
            await writer.StartAsync(CancellationToken.None);
            var step = new CardReviewStep(lookup, writer, hasher, reasons, options, TimeProvider.System, NullLogger<CardReviewStep>.Instance);
            var service = CdsServiceCatalog.Find("ketamine-order-sign")!;

            for (var pass = 0; pass < 2; pass++)
            {
                cpu = Process.GetCurrentProcess().TotalProcessorTime;
                started = Stopwatch.GetTimestamp();
                var snoozed = 0;
                for (var i = 0; i < calls; i++)
                {
                    var shown = await step.ApplyAsync(service, Guid.NewGuid().ToString(), $"bench-patient-{i % Patients}", "Practitioner/bench",
                        [ShownCard(Findings[0]), ShownCard(Findings[1])], CancellationToken.None);
                    snoozed += 2 - shown.Count;

                    // Keep the writer's queue below its capacity: a loop with no pause outruns the ledger, and dropped
                    // cards would leave their write cost out of the figure.
                    if (i % 1000 == 999)
                    {
                        await writer.FlushAsync(TimeSpan.FromMinutes(2), CancellationToken.None);
                    }
                }

                await writer.FlushAsync(TimeSpan.FromMinutes(2), CancellationToken.None);
                wall = Stopwatch.GetElapsedTime(started);
                cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
                Console.WriteLine($"snooze step + ledger ({(pass == 0 ? "warm-up" : "measured")}, cache {cacheSeconds} s): {calls:N0} calls over {Patients:N0} patients: " +
                                  $"{wall.TotalMilliseconds * 1000 / calls:F1} us/call wall, {cpu.TotalMilliseconds * 1000 / calls:F1} us/call CPU, " +
                                  $"{snoozed} cards snoozed; ledger now {(await store.CountsAsync(CancellationToken.None)).Cards:N0} cards, {writer.Dropped:N0} dropped (queue full)" +
                                  (lookup is OverrideLookupCache cache ? $"; look-ups {cache.Hits:N0} from memory, {cache.Misses:N0} from the store" : ""));
            }

            await writer.StopAsync(CancellationToken.None);
            writer.Dispose();
        }
        finally
        {
            await store.DisposeAsync();
            Directory.Delete(directory, recursive: true);
        }
    }

    private static IssuedCard Issued(string patientHash, string finding, DateTimeOffset at) =>
        new(Guid.NewGuid(), "ketamine-order-sign", Guid.NewGuid().ToString(), patientHash, "Practitioner/bench",
            new CardNumbers { Finding = finding, LorazepamEquivalentMgPerDay = 6m, Ingredients = ["clonazepam"] }, at);

    private static Card ShownCard(string finding) => new()
    {
        Uuid = Guid.NewGuid().ToString(),
        Summary = "bench",
        Indicator = "warning",
        Source = new CardSource { Label = "bench" },
        Extension = new CardExtension(new KetamineCdsExtension
        {
            Finding = finding,
            LorazepamEquivalentMgPerDay = 6m,
            Medications = [new MedicationLine { Reference = "MedicationStatement/b1", Ingredient = "clonazepam", Counted = true }],
        }),
    };

    private static string FindProfile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "fhir-profiles", relative);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"fhir-profiles/{relative} not found above {AppContext.BaseDirectory}.");
    }
}
