using Hl7.Fhir.Model;
using KetamineCds.Clinical.Outcomes;
using KetamineCds.Fhir.Facts;

namespace KetamineCds.Tests.Profiles;

/// <summary>The validation-result cache never serves a stale verdict: the key is the exact JSON validated.</summary>
[Collection(ValidatorCollection.Name)]
public sealed class ValidationCacheTests(ValidatorFixture fixture)
{
    private static Observation Qids(int value) => new()
    {
        Id = "cache-check",
        Status = ObservationStatus.Final,
        Category = [new CodeableConcept("http://terminology.hl7.org/CodeSystem/observation-category", "survey")],
        Code = new CodeableConcept(AssessmentReader.AssessmentSystem, AssessmentReader.QidsSr16TotalCode),
        Subject = new ResourceReference("Patient/p1"),
        Effective = new FhirDateTime("2024-03-01T09:00:00Z"),
        Value = new Integer(value),
    };

    [Fact]
    public void The_same_observation_gets_the_same_verdict_and_a_changed_one_is_validated_again()
    {
        var validator = fixture.Validator;
        Assert.True(validator.ValidateAssessment(Qids(12), AssessmentKind.QidsSr16).IsValid);
        Assert.True(validator.ValidateAssessment(Qids(12), AssessmentKind.QidsSr16).IsValid);

        // Same id, a value outside 0-27: must not be served the cached "valid".
        var outOfRange = validator.ValidateAssessment(Qids(31), AssessmentKind.QidsSr16);
        Assert.False(outOfRange.IsValid);
        Assert.False(validator.ValidateAssessment(Qids(31), AssessmentKind.QidsSr16).IsValid);

        // The same Observation against the other profile is its own verdict: 31 is outside QIDS-SR16 (0-27), inside CADSS (0-92).
        Assert.True(validator.ValidateAssessment(Qids(31), AssessmentKind.Cadss).IsValid);
    }
}
