using System.Diagnostics;
using Firely.Fhir.Validation;
using Hl7.Fhir.Model;
using Hl7.Fhir.Specification.Snapshot;
using Hl7.Fhir.Specification.Source;
using Hl7.Fhir.Specification.Terminology;
using KetamineCds.Clinical.Outcomes;
using KetamineCds.Fhir.Facts;
using KetamineCds.Fhir.Knowledge;

namespace KetamineCds.Fhir.Validation;

/// <summary>The result of validating one resource against one profile.</summary>
/// <param name="IsValid">No error or fatal issue.</param>
/// <param name="Issues">Every issue, as "severity: message (location)"; warnings do not make a resource invalid.</param>
public sealed record ValidationResult(bool IsValid, IReadOnlyList<string> Issues)
{
    /// <summary>The error and fatal issues only, for a card or a log line.</summary>
    public IReadOnlyList<string> Errors => Issues.Where(i => i.StartsWith("error", StringComparison.Ordinal) || i.StartsWith("fatal", StringComparison.Ordinal)).ToList();
}

/// <summary>Where the core specification comes from; both default sensibly.</summary>
public sealed record ProfileValidatorOptions
{
    /// <summary>specification.zip (package Hl7.Fhir.Specification.Data.R4); default: next to the application.</summary>
    public string? SpecificationZipPath { get; init; }

    /// <summary>Where ZipSource unpacks the zip (~60 MB); default: a folder under the temp directory ($TMPDIR).
    /// A read-only container needs a writable directory here, or a pre-extracted one.</summary>
    public string? ExtractDirectory { get; init; }

    /// <summary>A directory holding the core specification already unpacked (the contents of specification.zip, e.g.
    /// made at image build time). When set, the zip is not opened and nothing is written: the directory may be
    /// read-only. The same files are served as from the zip, so every verdict is the same.</summary>
    public string? SpecificationDirectory { get; init; }

    /// <summary>How many assessment validation results to remember, keyed by a hash of the Observation's JSON (0: none).
    /// The same chart's Observations are re-sent on every hook; an unchanged Observation need not be validated again.</summary>
    public int ResultCacheSize { get; init; } = 10_000;

    /// <summary>Serve our profiles' snapshots and the core definitions they need from the prepared cache embedded in
    /// the assembly (<see cref="DefinitionCache"/>), opening the full specification only for a definition outside it.
    /// The answers are the full specification's (tests compare every verdict); off: index the whole specification and
    /// generate the snapshots at start-up, as before.</summary>
    public bool UseDefinitionCache { get; init; } = true;
}

/// <summary>A profile or example is broken: the service must not start (snapshot missing, profile unresolvable).</summary>
public sealed class ProfileConfigurationException(string message) : Exception(message);

/// <summary>
/// Validates resources against the KetamineCds profiles with Firely.Fhir.Validation. Build once at start-up with
/// <see cref="CreateAsync"/>, call <see cref="WarmUpAsync"/> before readiness, then share: it is thread-safe.
/// </summary>
/// <remarks>
/// Resolver order (docs: shared ENGINEERING-NOTES, validation): the core specification first, then our own artifacts in
/// memory. The core specification is served from the prepared definitions (<see cref="DefinitionCache"/>) and opened
/// in full (ZipSource or DirectorySource) only for a definition outside them. Snapshots of our profiles are made by the
/// SDK's SnapshotGenerator (never written by hand): prepared by the cache generator for the exact authored JSON, else
/// generated here at start-up; only our profiles are snapshotted, since snapshotting the core specification makes the
/// first validation take 15-19 s. A profile whose snapshot cannot be generated fails start-up.
/// </remarks>
public sealed class ProfileValidator
{
    public const string QidsSr16Profile = KnowledgeLoader.CanonicalBase + "/StructureDefinition/qids-sr16-total-observation";
    public const string CadssProfile = KnowledgeLoader.CanonicalBase + "/StructureDefinition/cadss-total-observation";
    public const string KetamineOrderProfile = KnowledgeLoader.CanonicalBase + "/StructureDefinition/ketamine-esketamine-medicationrequest";

    private readonly Validator _validator;
    private readonly IReadOnlyDictionary<string, Resource> _warmUpExamples;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ValidationResult> _results = new(StringComparer.Ordinal);
    private readonly int _resultCacheSize;

    private ProfileValidator(Validator validator, IReadOnlyList<StructureDefinition> profiles, IReadOnlyDictionary<string, Resource> warmUpExamples, int resultCacheSize,
        CoreSubsetSource? subset, int snapshotsFromCache)
    {
        _validator = validator;
        Profiles = profiles;
        _warmUpExamples = warmUpExamples;
        _resultCacheSize = resultCacheSize;
        _subset = subset;
        SnapshotsFromCache = snapshotsFromCache;
    }

    private readonly CoreSubsetSource? _subset;

    /// <summary>Whether the prepared definitions serve the core specification (else the full specification does).</summary>
    public bool UsesDefinitionCache => _subset is not null;

    /// <summary>Whether the full specification has been opened: always with the cache off; with it, only after a
    /// lookup of a core definition outside the prepared ones.</summary>
    public bool FullSpecificationOpened => _subset?.FullSpecificationOpened ?? true;

    /// <summary>How many of our profiles' snapshots came from the prepared cache (the rest were generated at start-up).</summary>
    public int SnapshotsFromCache { get; }

    /// <summary>Our profiles, with the snapshots generated at start-up.</summary>
    public IReadOnlyList<StructureDefinition> Profiles { get; }

    /// <summary>
    /// Builds the validator: reads the core specification, our StructureDefinitions, CodeSystems and ValueSets (embedded
    /// fhir-profiles unless <paramref name="artifacts"/> is given) and generates the profiles' snapshots.
    /// </summary>
    public static Task<ProfileValidator> CreateAsync(IReadOnlyDictionary<string, string>? artifacts = null, ProfileValidatorOptions? options = null) =>
        CreateAsync(artifacts, options, wrapCore: null);

    /// <param name="wrapCore">For the cache generator: wraps the full specification to record what is resolved.</param>
    internal static async Task<ProfileValidator> CreateAsync(IReadOnlyDictionary<string, string>? artifacts, ProfileValidatorOptions? options,
        Func<IAsyncResourceResolver, IAsyncResourceResolver>? wrapCore)
    {
        artifacts ??= KnowledgeLoader.ReadArtifacts();
        options ??= new ProfileValidatorOptions();

        // The specification's location is checked now, so a wrong path fails start-up even when it is opened lazily.
        var openCore = CoreSpecification(options);
        var cache = options.UseDefinitionCache && wrapCore is null ? DefinitionCache.LoadEmbedded() : null;
        var subset = cache is null ? null : new CoreSubsetSource(cache, openCore);
        IAsyncResourceResolver core = subset ?? (wrapCore ?? (c => c))(openCore());

        var profiles = new List<StructureDefinition>();
        var authored = new Dictionary<StructureDefinition, string>();
        var terminology = new List<Resource>();
        var examples = new List<(string Path, Resource Resource)>();
        foreach (var (path, json) in artifacts.OrderBy(a => a.Key, StringComparer.Ordinal))
        {
            var fileName = Path.GetFileName(path);
            if (path.StartsWith("profiles/", StringComparison.Ordinal) && fileName.StartsWith("StructureDefinition-", StringComparison.Ordinal))
            {
                var profile = Parse<StructureDefinition>(path, json);
                profiles.Add(profile);
                authored[profile] = json;
            }
            else if (fileName.StartsWith("CodeSystem-", StringComparison.Ordinal))
            {
                terminology.Add(Parse<CodeSystem>(path, json));
            }
            else if (fileName.StartsWith("ValueSet-", StringComparison.Ordinal))
            {
                terminology.Add(Parse<ValueSet>(path, json));
            }
            else if (path.StartsWith("examples/", StringComparison.Ordinal) && !fileName.StartsWith("invalid-", StringComparison.Ordinal))
            {
                examples.Add((path, Parse<Resource>(path, json)));
            }
        }

        foreach (var required in new[] { QidsSr16Profile, CadssProfile, KetamineOrderProfile })
        {
            if (profiles.All(p => p.Url != required))
            {
                throw new ProfileConfigurationException($"fhir-profiles: profile {required} is missing.");
            }
        }

        // Snapshots are generated against the core specification plus our own artifacts (a profile may build on another).
        var ours = new InMemoryResourceResolver(profiles.Cast<Resource>().Concat(terminology));
        var generator = new SnapshotGenerator(new MultiResolver(core, ours));
        var snapshotsFromCache = 0;
        for (var i = 0; i < profiles.Count; i++)
        {
            // A snapshot the cache generated from exactly this JSON is the one the generator would make now.
            if (cache is not null && profiles[i].Url is { } url && cache.Profiles.TryGetValue(url, out var cached)
                && cached.SourceSha256 == DefinitionCache.Hash(authored[profiles[i]]))
            {
                profiles[i] = Parse<StructureDefinition>(url, cached.StructureDefinitionJson);
                snapshotsFromCache++;
                continue;
            }

            var profile = profiles[i];
            profile.Snapshot = null;
            await generator.UpdateAsync(profile).ConfigureAwait(false);
            var problems = generator.Outcome?.Issue
                .Where(i => i.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal)
                .Select(Describe)
                .ToList() ?? [];

            // The generator only warns about a differential element it could not place (a misspelt path); the profile
            // would then silently not constrain anything there, so every differential element must be in the snapshot.
            var snapshotIds = profile.Snapshot?.Element.Select(e => e.ElementId).ToHashSet(StringComparer.Ordinal) ?? [];
            problems.AddRange((profile.Differential?.Element ?? [])
                .Where(e => !snapshotIds.Contains(e.ElementId ?? e.Path))
                .Select(e => $"differential element {e.ElementId ?? e.Path} is not in the snapshot"));
            if (problems.Count > 0)
            {
                problems.AddRange(generator.Outcome?.Issue.Where(i => i.Severity == OperationOutcome.IssueSeverity.Warning).Select(Describe) ?? []);
            }

            if (profile.Snapshot is null || profile.Snapshot.Element.Count == 0 || problems.Count > 0)
            {
                throw new ProfileConfigurationException(
                    $"fhir-profiles: the snapshot of {profile.Url} could not be generated: {string.Join("; ", problems)}");
            }
        }

        // Cached: the terminology service resolves the core ValueSets (observation-status, ...) on every validation, and
        // ZipSource would parse them from disk each time.
        var resolver = new CachedResolver(new MultiResolver(core, new InMemoryResourceResolver(profiles.Cast<Resource>().Concat(terminology))));
        var terminologyService = LocalTerminologyService.CreateDefaultForCore(resolver);
        var validator = new Validator(resolver, terminologyService);

        var warmUp = new Dictionary<string, Resource>(StringComparer.Ordinal);
        foreach (var (_, example) in examples)
        {
            foreach (var profile in (example.Meta?.Profile ?? []).OfType<string>())
            {
                warmUp.TryAdd(profile, example);
            }
        }

        var unexampled = profiles.Select(p => p.Url ?? p.Id ?? "(no url)").Where(u => !warmUp.ContainsKey(u)).ToList();
        if (unexampled.Count > 0)
        {
            throw new ProfileConfigurationException($"fhir-profiles: no valid example for {string.Join(", ", unexampled)}.");
        }

        return new ProfileValidator(validator, profiles, warmUp, options.ResultCacheSize, subset, snapshotsFromCache);
    }

    /// <summary>
    /// Validates one valid example per profile so the first request does not pay the cold start (~3-4 s), and proves
    /// the configuration: an example that fails its own profile fails start-up. Returns the time taken.
    /// </summary>
    public async Task<TimeSpan> WarmUpAsync(CancellationToken cancellationToken = default)
    {
        var stopwatch = Stopwatch.StartNew();

        // One after another, not side by side: a parallel warm-up failed one start in four on the loaded build
        // machine (cause not isolated; the first validation against a profile expands, in place, the ValueSets its
        // required bindings name, and the two Observation profiles share observation-status). A start must not race.
        foreach (var (profile, example) in _warmUpExamples)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var result = await System.Threading.Tasks.Task.Run(() => Validate(example, profile), cancellationToken).ConfigureAwait(false);
            if (!result.IsValid)
            {
                throw new ProfileConfigurationException(
                    $"fhir-profiles: example {example.TypeName}/{example.Id} does not validate against {profile}: {string.Join("; ", result.Errors)}");
            }
        }

        return stopwatch.Elapsed;
    }

    /// <summary>Validates against <paramref name="profile"/>, else against the resource's meta.profile (and its base type).</summary>
    /// <exception cref="ProfileConfigurationException">The profile has no snapshot or cannot be resolved: a configuration
    /// error, never a property of the patient's data.</exception>
    public ValidationResult Validate(Resource resource, string? profile = null)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var outcome = _validator.Validate(resource, profile);
        var issues = outcome.Issue.Select(Describe).ToList();

        var configurationErrors = issues.Where(IsConfigurationIssue).ToList();
        if (configurationErrors.Count > 0)
        {
            throw new ProfileConfigurationException($"Profile validation is misconfigured: {string.Join("; ", configurationErrors)}");
        }

        var isValid = !outcome.Issue.Any(i => i.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal);
        return new ValidationResult(isValid, issues);
    }

    /// <summary>
    /// Validates an assessment Observation against the QIDS-SR16 or CADSS profile. An Observation recognized through a
    /// site-configured code carries the site's code, not ours; the site mapping is the translation, so a copy with our
    /// local coding added is validated and every other constraint still applies.
    /// </summary>
    public ValidationResult ValidateAssessment(Observation observation, AssessmentKind kind)
    {
        ArgumentNullException.ThrowIfNull(observation);
        var (profile, code) = kind switch
        {
            AssessmentKind.QidsSr16 => (QidsSr16Profile, AssessmentReader.QidsSr16TotalCode),
            AssessmentKind.Cadss => (CadssProfile, AssessmentReader.CadssTotalCode),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown assessment kind."),
        };

        var target = observation;
        if (observation.Code?.Coding.Any(c => c.System == AssessmentReader.AssessmentSystem && c.Code == code) != true)
        {
            target = (Observation)observation.DeepCopy();
            target.Code ??= new CodeableConcept();
            target.Code.Coding.Add(new Coding(AssessmentReader.AssessmentSystem, code));
        }

        if (_resultCacheSize <= 0)
        {
            return Validate(target, profile);
        }

        // The key is the exact JSON validated (and the profile): any change to the Observation is a new key. An
        // Observation read from a request carries the digest of its bytes, which determine it (and so the copy with our
        // coding added); serializing it again to hash it cost more than the rest of reading it (docs/performance.md).
        var key = profile + "|" + (FhirJson.ContentKey(observation) is { } read
            ? "read:" + read
            : DefinitionCache.Hash(FhirJson.Serialize(target)));
        if (_results.TryGetValue(key, out var cached))
        {
            return cached;
        }

        var result = Validate(target, profile);
        if (_results.Count >= _resultCacheSize)
        {
            _results.Clear(); // bounded: a crude reset is enough for a cache that refills from the next calls
        }

        _results[key] = result;
        return result;
    }

    /// <summary>
    /// The request-time step: reads and validates assessment Observations; invalid ones are excluded with the reason.
    /// Feed the result to <see cref="OutcomeCalculator.Summarize"/>.
    /// </summary>
    public (IReadOnlyList<AssessmentScore> Scores, IReadOnlyList<ExcludedScore> Excluded) ReadValidAssessments(
        AssessmentReader reader, IEnumerable<Observation> observations)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(observations);
        var scores = new List<AssessmentScore>();
        var excluded = new List<ExcludedScore>();
        foreach (var observation in observations)
        {
            var reading = reader.Read(observation);
            if (reading.Excluded is { } unreadable)
            {
                excluded.Add(unreadable);
                continue;
            }

            if (reading.Score is not { } score)
            {
                continue; // not an assessment, or not final
            }

            var result = ValidateAssessment(observation, score.Kind);
            if (result.IsValid)
            {
                scores.Add(score);
            }
            else
            {
                excluded.Add(new ExcludedScore(score.Reference, score.Kind, ExclusionReason.FailedValidation, string.Join("; ", result.Errors)));
            }
        }

        return (scores, excluded);
    }

    /// <summary>
    /// Files of the core specification the validator never reads: it resolves StructureDefinitions, ValueSets and
    /// CodeSystems by canonical URL, and these hold only SearchParameters, ConceptMaps and NamingSystems. Leaving them
    /// out of the index saves parsing about 3 MB of XML at start-up and their summaries in memory, without changing any
    /// answer the resolver gives the validator.
    /// </summary>
    internal static readonly string[] UnusedSpecificationFiles = ["search-parameters.xml", "conceptmaps.xml", "namingsystem-registry.xml"];

    /// <summary>Checks where the core specification is and returns how to open it (opening indexes it: seconds).</summary>
    internal static Func<IAsyncResourceResolver> CoreSpecification(ProfileValidatorOptions options)
    {
        var settings = new DirectorySourceSettings { Excludes = UnusedSpecificationFiles };
        if (options.SpecificationDirectory is { } unpacked)
        {
            // Pre-extracted (Dockerfile): ZipSource would check the zip's time stamp against the directory's and, on a
            // mismatch, delete and re-extract it, which fails on a read-only image. A DirectorySource over the same files
            // is what ZipSource itself serves from once it has unpacked.
            if (!File.Exists(Path.Combine(unpacked, "profiles-types.xml")))
            {
                throw new ProfileConfigurationException(
                    $"The unpacked FHIR core specification was not found in {unpacked} (expected profiles-types.xml there: unzip specification.zip into it).");
            }

            return () => new DirectorySource(unpacked, settings);
        }

        var zipPath = options.SpecificationZipPath ?? Path.Combine(AppContext.BaseDirectory, "specification.zip");
        if (!File.Exists(zipPath))
        {
            throw new ProfileConfigurationException(
                $"The FHIR core specification was not found at {zipPath} (package Hl7.Fhir.Specification.Data.R4 copies it to the output).");
        }

        // ZipSource unpacks once into {extract}/specification (default: a folder under $TMPDIR named after the SDK
        // version) and reuses it while the directory is newer than the zip: one extraction per machine, not per start.
        return options.ExtractDirectory is { } extract ? () => new ZipSource(zipPath, extract, settings) : () => new ZipSource(zipPath, settings);
    }

    private static bool IsConfigurationIssue(string issue) =>
        issue.Contains("no snapshot", StringComparison.OrdinalIgnoreCase)
        || issue.Contains("Unable to resolve reference to profile", StringComparison.OrdinalIgnoreCase);

    private static string Describe(OperationOutcome.IssueComponent issue)
    {
        var severity = issue.Severity?.ToString().ToLowerInvariant() ?? "unknown";
        var message = issue.Details?.Text ?? issue.Diagnostics ?? issue.Code?.ToString() ?? "";
        var location = issue.Expression.FirstOrDefault() ?? issue.Location.FirstOrDefault();
        return location is null ? $"{severity}: {message}" : $"{severity}: {message} ({location})";
    }

    private static T Parse<T>(string path, string json) where T : Resource
    {
        try
        {
            return FhirJson.ReadStrict<T>(json);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw new ProfileConfigurationException($"fhir-profiles: {path} is not a valid {typeof(T).Name}: {ex.Message}");
        }
    }
}
