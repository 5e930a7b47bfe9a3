import pickle

import numpy as np
import pytest

from catalogue import cached_catalogue
from models.entities import Alias, EntityExtractor
from models.intents import train_intent_classifier
from settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def classifier():
    return train_intent_classifier(cached_catalogue(PROJECT_ROOT / "data" / "catalogue").examples)


def test_fast_path_matches_scikit_learn(classifier) -> None:
    texts = ["I forgot my pasword", "vpn wont connect from home", "hello there", "zzz qqq", ""]
    batch = classifier.probabilities(texts)
    single = np.array([classifier.probabilities_one(t) for t in texts])
    assert np.allclose(batch, single, atol=1e-9)


def test_a_saved_classifier_keeps_only_its_fitted_parts(classifier) -> None:
    saved = pickle.dumps(classifier)
    assert b"FastTfidf" not in saved  # the fast path is rebuilt on loading
    loaded = pickle.loads(saved)
    text = "my vpn keeps dropping"
    assert np.allclose(loaded.probabilities_one(text), classifier.probabilities_one(text))


def test_confident_on_clear_requests(classifier) -> None:
    prediction = classifier.predict("please reset my password")
    assert prediction.intent == "password_reset" and prediction.confidence > 0.6
    assert len(prediction.alternatives) == 2


def test_training_needs_two_intents() -> None:
    with pytest.raises(ValueError, match="at least two intents"):
        train_intent_classifier({"greeting": ["hi", "hello"]})


def test_entities_exact_and_fuzzy() -> None:
    extractor = EntityExtractor(
        [
            Alias("group", "domain-admins", "domain admins"),
            Alias("application", "salesforce", "salesforce"),
            Alias("device", "laptop", "laptop"),
        ]
    )
    assert [e.id for e in extractor.extract("add me to Domain Admins")] == ["domain-admins"]
    fuzzy = extractor.extract("need salesforse access", {"application"})
    assert [e.id for e in fuzzy] == ["salesforce"] and fuzzy[0].score < 1
    assert extractor.extract("my laptop is broken", {"group"}) == []
    assert extractor.extract("status of INC0001234 please")[0].id == "INC0001234"
