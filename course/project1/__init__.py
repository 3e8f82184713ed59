"""Project 1, digit pairs: the contract of the student's networks (:mod:`.spec`), the experimental protocol
(:mod:`.protocol`), its figures (:mod:`.plots`) and the ``course run project1`` command (:mod:`.cli`)."""
