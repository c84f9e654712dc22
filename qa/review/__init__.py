"""The reviewer's side: the review queue, replay, annotations, coaching lists, agent scorecards and users."""
