using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using KetamineCds.Review.Evaluation;
using KetamineCds.Review.Grouping;
using KetamineCds.Review.Input;

namespace KetamineCds.Review;

/// <summary>The export could not be reviewed at all (no input, nothing readable): said plainly, exit code 66.</summary>
public sealed class ReviewInputException(string message) : Exception(message);

/// <summary>
/// Reviews a clinic's export in two streaming passes with bounded memory:
/// <list type="number">
/// <item>Scan every record once (Utf8JsonReader, no Firely): count it, report it with file and line when it cannot be
/// read, keep the Medications that name one of ours, and spill each possibly relevant record of a patient in this shard
/// to a bucket file chosen by a hash of the patient id.</item>
/// <item>Read one bucket at a time, group it by patient and evaluate each patient with the hooks' clinical library.</item>
/// </list>
/// Memory holds the relevant Medications and one bucket, never a whole file.
/// </summary>
public sealed class ClinicReview(ClinicalEngine engine)
{
    /// <summary>The resource types a review reads; each missing one is reported with what follows.</summary>
    public static readonly IReadOnlyDictionary<string, string> ReadTypes = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["Patient"] = "patients are known only by the references of their records (no names, no count of patients)",
        ["MedicationStatement"] = "medications the patients report are not reviewed; only prescriptions are",
        ["MedicationRequest"] = "prescriptions are not reviewed; only the medications patients report are",
        ["Medication"] = "a medicationReference cannot be resolved; such entries are judged by their display text only",
        ["Observation"] = "the QIDS-SR course is not available for any patient",
    };

    private const int MaxUnreadableDetails = 1000;

    public async Task<ReviewResult> RunAsync(ReviewOptions options, IProgress<ReviewProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var clock = Stopwatch.StartNew();
        var files = ExportFiles.Find(options.InputPath);
        if (files.Count == 0)
        {
            throw new ReviewInputException($"No export files (.ndjson, .ndjson.gz, .json) found at {options.InputPath}.");
        }

        Directory.CreateDirectory(options.OutputDirectory);
        var work = options.WorkDirectory ?? Path.Combine(options.OutputDirectory, $".review-work-{Environment.ProcessId}");
        Directory.CreateDirectory(work);
        var asOf = options.AsOf ?? DateTimeOffset.UtcNow;
        var workers = Math.Clamp(options.Workers, 1, 16);
        var buckets = Math.Clamp(options.Buckets, 1, 4096);
        var state = new ScanState();
        try
        {
            // Pass 1: scan and spill. Larger files first, so the workers finish together.
            var totalBytes = files.Sum(f => f.Length);
            long doneBytes = 0;
            var queue = new ConcurrentQueue<(ExportFile File, int Index)>(files.Select((f, i) => (f, i)).OrderByDescending(f => f.f.Length));
            var writers = Enumerable.Range(0, workers).Select(w => new SpillWriter(work, w, buckets)).ToArray();
            try
            {
                await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(() =>
                {
                    while (queue.TryDequeue(out var item))
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        ScanFile(item.File, item.Index, writers[w], options.Shard, state, cancellationToken);
                        progress?.Report(new ReviewProgress("Reading the export", Interlocked.Add(ref doneBytes, item.File.Length), totalBytes));
                    }
                }, cancellationToken)));
            }
            finally
            {
                foreach (var writer in writers)
                {
                    writer.Dispose();
                }
            }

            if (state.Readable == 0)
            {
                throw new ReviewInputException($"None of the {state.Unreadable} records in {files.Count} file(s) could be read; see the messages above.");
            }

            // Pass 2: one bucket at a time, patients of a bucket evaluated in parallel.
            var observationsInExport = state.Types.ContainsKey("Observation");
            var reviewer = new PatientReviewer(engine, state.Medications, observationsInExport, asOf);
            var rows = new ConcurrentBag<ReviewRow>();
            long patientsInShard = 0, unusable = 0, doneBuckets = 0;
            await Parallel.ForEachAsync(Enumerable.Range(0, buckets), new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = cancellationToken },
                async (bucket, token) =>
                {
                    var patients = new Dictionary<string, PatientRecords>(StringComparer.Ordinal);
                    foreach (var record in SpillWriter.ReadBucket(work, workers, bucket))
                    {
                        if (!patients.TryGetValue(record.PatientId, out var p))
                        {
                            patients[record.PatientId] = p = new PatientRecords(record.PatientId);
                        }

                        switch (record.Kind)
                        {
                            case SpilledKind.Patient:
                                p.Patient = record.Json;
                                break;
                            case SpilledKind.Observation:
                                p.Observations.Add(record);
                                break;
                            default:
                                p.Medications.Add(record);
                                break;
                        }
                    }

                    foreach (var p in patients.Values)
                    {
                        var outcome = await reviewer.ReviewAsync(p, options.Feedback, token);
                        if (outcome.Row is not null)
                        {
                            rows.Add(outcome.Row);
                            Interlocked.Add(ref unusable, outcome.Unusable);
                        }
                    }

                    Interlocked.Add(ref patientsInShard, patients.Count);
                    progress?.Report(new ReviewProgress("Reviewing patients", Interlocked.Increment(ref doneBuckets), buckets));
                });

            var sorted = rows.OrderBy(r => r.PatientId, StringComparer.Ordinal).ToList();
            var summary = Summarize(options, files, state, asOf, sorted, patientsInShard, unusable, clock.Elapsed);
            return new ReviewResult(sorted, summary);
        }
        finally
        {
            if (options.WorkDirectory is null)
            {
                TryDelete(work);
            }
        }
    }

    private static ReviewSummary Summarize(ReviewOptions options, IReadOnlyList<ExportFile> files, ScanState state, DateTimeOffset asOf,
        List<ReviewRow> rows, long patientsInShard, long unusable, TimeSpan elapsed)
    {
        var missing = ReadTypes.Where(t => !state.Types.ContainsKey(t.Key)).Select(t => $"{t.Key}: not in the export; {t.Value}").ToList();
        var notes = new List<string>();
        if (!options.ValidateAssessments)
        {
            notes.Add("QIDS-SR/CADSS Observations were not validated against the KetamineCds profiles (--no-validate).");
        }

        if (state.Unreadable > MaxUnreadableDetails)
        {
            notes.Add($"{state.Unreadable} records could not be read; the first {MaxUnreadableDetails} are listed.");
        }

        var findings = rows.SelectMany(r => r.Findings).GroupBy(f => f, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var categories = rows.Where(r => r.LamotrigineCategory is not null).GroupBy(r => r.LamotrigineCategory!, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        return new ReviewSummary
        {
            Shard = options.Shard.ToString(),
            AsOf = asOf,
            Files = files.Select(f => f.Name).ToList(),
            ResourcesByType = state.Types.OrderBy(t => t.Key, StringComparer.Ordinal).ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal),
            PatientsInExport = state.Types.GetValueOrDefault("Patient"),
            PatientsInShard = patientsInShard,
            PatientsOnKetamine = rows.Count,
            Findings = findings,
            LamotrigineCategories = categories,
            UnreadableRecords = state.Unreadable,
            UnreadableDetails = state.Details.OrderBy(d => d.File, StringComparer.Ordinal).ThenBy(d => d.Line).ToList(),
            UnusableRecordsOfReviewedPatients = unusable,
            ResourcesNamingNoPatient = state.NoPatient.OrderBy(t => t.Key, StringComparer.Ordinal).ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal),
            MissingResourceTypes = missing,
            Notes = notes,
            FeedbackSource = options.Feedback is null ? "not available: no feedback store was given (--feedback-db or --feedback-postgres)" : "the service's feedback store",
            ElapsedSeconds = Math.Round(elapsed.TotalSeconds, 2),
        };
    }

    /// <summary>Counters shared by the first-pass workers.</summary>
    private sealed class ScanState
    {
        public readonly ConcurrentDictionary<string, long> Types = new(StringComparer.Ordinal);
        public readonly ConcurrentDictionary<string, long> NoPatient = new(StringComparer.Ordinal);
        public readonly ConcurrentDictionary<string, string> Medications = new(StringComparer.Ordinal);
        public readonly ConcurrentBag<UnreadableRecord> Details = [];
        public long Unreadable;
        public long Readable;

        public void Bad(ExportFile file, long line, string reason)
        {
            if (Interlocked.Increment(ref Unreadable) <= MaxUnreadableDetails)
            {
                Details.Add(new UnreadableRecord(file.Name, line, reason));
            }
        }
    }

    private void ScanFile(ExportFile file, int index, SpillWriter writer, ShardSpec shard, ScanState state, CancellationToken cancellationToken)
    {
        try
        {
            if (file.IsBundle)
            {
                ScanBundle(file, index, writer, shard, state);
                return;
            }

            using var reader = new NdjsonLineReader(file.Open());
            while (reader.TryReadLine(out var line, out var number, out var tooLong))
            {
                if ((number & 0xFFF) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                if (tooLong)
                {
                    state.Bad(file, number, $"line longer than {NdjsonLineReader.MaxLineBytes / (1024 * 1024)} MB");
                    continue;
                }

                if (IsBlank(line.Span))
                {
                    continue;
                }

                Route(line.Span, file, index, number, writer, shard, state);
            }
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            // A truncated .gz or an unreadable file: what was read is kept, the rest is reported.
            state.Bad(file, 0, $"file could not be read to the end ({ex.GetType().Name}: {ex.Message})");
        }
    }

    /// <summary>
    /// A Bundle file (e.g. a FHIR server's searchset or a transaction): parsed as one document, since a Bundle is one
    /// JSON value; each entry's resource is then routed as an NDJSON line would be, its "line" being the entry number.
    /// Exports at scale come as NDJSON, which is streamed.
    /// </summary>
    private void ScanBundle(ExportFile file, int index, SpillWriter writer, ShardSpec shard, ScanState state)
    {
        JsonDocument document;
        try
        {
            using var stream = file.Open();
            document = JsonDocument.Parse(stream, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException ex)
        {
            state.Bad(file, (ex.LineNumber ?? -1) + 1, $"not valid JSON ({ex.Message.Split(". ")[0]}); the whole file was skipped");
            return;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("resourceType", out var type) || type.ValueKind != JsonValueKind.String)
            {
                state.Bad(file, 1, "not a FHIR Bundle or resource; the whole file was skipped");
                return;
            }

            if (type.GetString() != "Bundle")
            {
                Route(Encoding.UTF8.GetBytes(root.GetRawText()), file, index, 1, writer, shard, state);
                return;
            }

            if (!root.TryGetProperty("entry", out var entries) || entries.ValueKind != JsonValueKind.Array)
            {
                return;
            }

            var number = 0;
            foreach (var entry in entries.EnumerateArray())
            {
                number++;
                if (entry.ValueKind != JsonValueKind.Object || !entry.TryGetProperty("resource", out var resource))
                {
                    state.Bad(file, number, "Bundle entry without a resource (entry number given as line)");
                    continue;
                }

                Route(Encoding.UTF8.GetBytes(resource.GetRawText()), file, index, number, writer, shard, state);
            }
        }
    }

    private void Route(ReadOnlySpan<byte> json, ExportFile file, int index, long position, SpillWriter writer, ShardSpec shard, ScanState state)
    {
        if (ResourceScan.Scan(json, out var error) is not { } scan)
        {
            state.Bad(file, position, error!);
            return;
        }

        Interlocked.Increment(ref state.Readable);
        state.Types.AddOrUpdate(scan.ResourceType, 1, (_, n) => n + 1);
        switch (scan.ResourceType)
        {
            case "Patient":
                if (string.IsNullOrEmpty(scan.Id))
                {
                    state.Bad(file, position, "Patient without an id");
                }
                else if (shard.Includes(scan.Id))
                {
                    writer.Write(scan.Id, SpilledKind.Patient, false, null, index, position, json);
                }

                break;
            case "Medication":
                if (!string.IsNullOrEmpty(scan.Id))
                {
                    if (engine.MayBeOurMedication(json))
                    {
                        state.Medications[$"Medication/{scan.Id}"] = ResourceScan.Text(json);
                    }
                }

                break;
            case "MedicationStatement" or "MedicationRequest" or "Observation":
            {
                if (ResourceScan.PatientId(scan.SubjectReference) is not { } patient)
                {
                    state.NoPatient.AddOrUpdate(scan.ResourceType, 1, (_, n) => n + 1);
                    break;
                }

                if (!shard.Includes(patient))
                {
                    break;
                }

                if (scan.ResourceType == "Observation")
                {
                    if (engine.MayBeAssessment(json))
                    {
                        writer.Write(patient, SpilledKind.Observation, true, null, index, position, json);
                    }

                    break;
                }

                var medicationKey = ResourceScan.MedicationKey(scan.MedicationReference);
                var named = medicationKey is null && engine.MayNameMedication(json);
                if (named || medicationKey is not null)
                {
                    var kind = scan.ResourceType == "MedicationStatement" ? SpilledKind.MedicationStatement : SpilledKind.MedicationRequest;
                    writer.Write(patient, kind, named, medicationKey, index, position, json);
                }

                break;
            }
        }
    }

    private static bool IsBlank(ReadOnlySpan<byte> line) => line.IndexOfAnyExcept(" \t"u8) < 0;

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

/// <summary>One file of the export.</summary>
public sealed record ExportFile(string Path, string Name, long Length, bool IsBundle, bool Gzip)
{
    public Stream Open()
    {
        Stream stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Gzip ? new GZipStream(stream, CompressionMode.Decompress) : stream;
    }
}

/// <summary>Finds the export's files: NDJSON (.ndjson, .ndjson.gz) and Bundles (.json, .json.gz); hidden files are not read.</summary>
public static class ExportFiles
{
    public static IReadOnlyList<ExportFile> Find(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        IEnumerable<string> candidates = File.Exists(path) ? [path]
            : Directory.Exists(path) ? Directory.EnumerateFiles(path) : [];
        return candidates
            .Select(p => (Path: p, Name: System.IO.Path.GetFileName(p)))
            .Where(f => !f.Name.StartsWith('.'))
            .Select(f => Classify(f.Path, f.Name))
            .OfType<ExportFile>()
            .OrderBy(f => f.Name, StringComparer.Ordinal)
            .ToList();
    }

    private static ExportFile? Classify(string path, string name)
    {
        var gzip = name.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);
        var bare = gzip ? name[..^3] : name;
        var isNdjson = bare.EndsWith(".ndjson", StringComparison.OrdinalIgnoreCase);
        var isBundle = bare.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
        return isNdjson || isBundle ? new ExportFile(path, name, new FileInfo(path).Length, isBundle, gzip) : null;
    }
}
