using System.Text.Json;
using Hl7.Fhir.Model;
using KetamineCds.Clinical.Outcomes;
using KetamineCds.Fhir;
using KetamineCds.Fhir.Knowledge;
using KetamineCds.Fhir.Validation;

namespace KetamineCds.Tests.Profiles;

/// <summary>
/// The service validates from prepared definitions (our snapshots and the core definitions they need) and opens the
/// full specification only for a definition outside them. No verdict may change: every example and every Observation
/// shape an EHR sends gets, issue for issue, the answer of a validator over the whole specification.zip.
/// </summary>
[Collection(ValidatorCollection.Name)]
public sealed class DefinitionCacheTests(ValidatorFixture fixture)
{
    [Fact]
    public async System.Threading.Tasks.Task The_prepared_core_definitions_and_snapshots_are_current_with_the_specification_and_our_profiles()
    {
        var generated = await DefinitionCacheGenerator.GenerateAsync(KnowledgeLoader.ReadArtifacts());
        var path = DefinitionCacheGenerator.CommittedPath();
        if (Environment.GetEnvironmentVariable("KETAMINECDS_WRITE_GENERATED") == "1")
        {
            await File.WriteAllTextAsync(path, generated);
        }

        var committed = await File.ReadAllTextAsync(path);
        if (committed != generated)
        {
            await File.WriteAllTextAsync(Path.Combine(Path.GetTempPath(), "core-definitions.generated.json"), generated);
        }

        Assert.True(committed == generated,
            $"{path} is stale (a profile, an example shape or the SDK changed): regenerate with KETAMINECDS_WRITE_GENERATED=1 dotnet test tests/KetamineCds.Tests --filter \"FullyQualifiedName~DefinitionCache\"");
    }

    [Fact]
    public async System.Threading.Tasks.Task Every_valid_and_invalid_example_gets_the_same_verdict_and_issues_as_from_the_whole_specification()
    {
        var full = await fixture.FullSpecificationValidator;
        Assert.True(fixture.Validator.UsesDefinitionCache);
        Assert.Equal(3, fixture.Validator.SnapshotsFromCache);
        Assert.False(full.UsesDefinitionCache);

        var examples = fixture.Artifacts.Where(a => a.Key.StartsWith("examples/", StringComparison.Ordinal)).OrderBy(a => a.Key, StringComparer.Ordinal).ToList();
        Assert.True(examples.Count >= 15);
        foreach (var (path, json) in examples)
        {
            var resource = FhirJson.ReadStrict<Resource>(json);
            var profile = Assert.Single(resource.Meta?.Profile ?? [])!;
            var expected = full.Validate(resource, profile);
            var actual = fixture.Validator.Validate(resource, profile);
            Assert.True(expected.IsValid == actual.IsValid, path);
            Assert.Equal(expected.Issues, actual.Issues);
            Assert.Equal(!Path.GetFileName(path).StartsWith("invalid-", StringComparison.Ordinal), actual.IsValid);
        }

        Assert.False(fixture.Validator.FullSpecificationOpened, "validating our examples needed a definition that is not prepared");
    }

    [Fact]
    public async System.Threading.Tasks.Task Observations_as_EHRs_send_them_get_the_same_verdicts_as_from_the_whole_specification_without_opening_it()
    {
        var full = await fixture.FullSpecificationValidator;
        var shapes = EhrObservationShapes.All(fixture.Artifacts).ToList();
        Assert.True(shapes.Count >= 20);
        var verdicts = new List<bool>();
        foreach (var (observation, kind) in shapes)
        {
            var expected = full.ValidateAssessment(observation, kind);
            var actual = fixture.Validator.ValidateAssessment(observation, kind);
            Assert.Equal(expected.IsValid, actual.IsValid);
            Assert.Equal(expected.Issues, actual.Issues);
            verdicts.Add(actual.IsValid);
        }

        // The shapes are not all accepted (a Quantity, a preliminary status and a missing value must fail), so the
        // comparison covers rejections as well as acceptances.
        Assert.Contains(true, verdicts);
        Assert.Contains(false, verdicts);

        // An EHR's own extension URLs are not in the specification: answered "not found" without indexing it.
        Assert.False(fixture.Validator.FullSpecificationOpened, "an EHR-shaped Observation needed a definition that is not prepared");
    }

    [Fact]
    public async System.Threading.Tasks.Task An_observation_with_unknown_elements_read_tolerantly_gets_the_same_verdict_on_both_paths()
    {
        var full = await fixture.FullSpecificationValidator;
        var json = fixture.Artifacts["examples/Observation-qids-sr16-total-example.json"]
            .Replace("\"status\"", "\"epicScoreBand\": \"moderate\", \"_status\": {\"id\": \"s1\"}, \"status\"", StringComparison.Ordinal);
        using var document = JsonDocument.Parse(json);
        var observation = Assert.IsType<Observation>(FhirJson.ReadTolerant(document.RootElement, out _));

        var expected = full.ValidateAssessment(observation, AssessmentKind.QidsSr16);
        var actual = fixture.Validator.ValidateAssessment(observation, AssessmentKind.QidsSr16);
        Assert.Equal(expected.IsValid, actual.IsValid);
        Assert.Equal(expected.Issues, actual.Issues);
    }

    [Fact]
    public async System.Threading.Tasks.Task A_core_definition_that_is_not_prepared_is_read_from_the_full_specification_with_the_same_verdict()
    {
        // Its own validator: this one opens the full specification, which the shared one must not.
        var validator = await ProfileValidator.CreateAsync(fixture.Artifacts);
        await validator.WarmUpAsync();
        Assert.False(validator.FullSpecificationOpened);

        // A core extension (body position, from extension-definitions.xml) that no example uses.
        var observation = FhirJson.ReadStrict<Observation>(fixture.Artifacts["examples/Observation-qids-sr16-total-example.json"]);
        observation.Extension.Add(new Extension("http://hl7.org/fhir/StructureDefinition/observation-bodyPosition",
            new CodeableConcept("http://snomed.info/sct", "33586001", "Sitting position")));
        var wrongType = (Observation)observation.DeepCopy();
        wrongType.Extension[0].Value = new FhirString("sitting"); // the extension requires a CodeableConcept

        var full = await fixture.FullSpecificationValidator;
        foreach (var candidate in new[] { observation, wrongType })
        {
            var expected = full.Validate(candidate, ProfileValidator.QidsSr16Profile);
            var actual = validator.Validate(candidate, ProfileValidator.QidsSr16Profile);
            Assert.Equal(expected.IsValid, actual.IsValid);
            Assert.Equal(expected.Issues, actual.Issues);
        }

        Assert.True(validator.FullSpecificationOpened);
        Assert.True(validator.Validate(observation, ProfileValidator.QidsSr16Profile).IsValid);
        Assert.False(validator.Validate(wrongType, ProfileValidator.QidsSr16Profile).IsValid);
    }

    [Fact]
    public async System.Threading.Tasks.Task A_site_profile_that_differs_from_the_prepared_one_gets_its_own_generated_snapshot()
    {
        // A knowledge directory whose QIDS-SR16 profile caps the score at 26: the prepared snapshot (0-27) must not be used.
        var changed = fixture.Artifacts.ToDictionary(a => a.Key, a => a.Value);
        const string key = "profiles/StructureDefinition-qids-sr16-total-observation.json";
        changed[key] = changed[key].Replace("\"maxValueInteger\": 27", "\"maxValueInteger\": 26", StringComparison.Ordinal);
        Assert.NotEqual(fixture.Artifacts[key], changed[key]);

        var validator = await ProfileValidator.CreateAsync(changed);
        Assert.Equal(2, validator.SnapshotsFromCache);
        var value = validator.Profiles.Single(p => p.Url == ProfileValidator.QidsSr16Profile).Snapshot!.Element.Single(e => e.Path == "Observation.value[x]");
        Assert.Equal(26, ((Integer)value.MaxValue!).Value);

        var observation = FhirJson.ReadStrict<Observation>(fixture.Artifacts["examples/Observation-qids-sr16-total-example.json"]);
        observation.Value = new Integer(27);
        Assert.False(validator.ValidateAssessment(observation, AssessmentKind.QidsSr16).IsValid);
        Assert.True(fixture.Validator.ValidateAssessment(observation, AssessmentKind.QidsSr16).IsValid);
    }
}
